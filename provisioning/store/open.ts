import type { Store } from './store';
import { PostgresStore } from './postgres';
import { SqliteStore } from './sqlite';

/** The configured database: PostgreSQL when DATABASE_URL is set, else the SQLite file at DB_PATH. */
export async function openStore(where: { dbPath: string; databaseUrl: string | undefined }): Promise<Store> {
  return where.databaseUrl === undefined ? new SqliteStore(where.dbPath) : PostgresStore.connect(where.databaseUrl);
}
