import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../provisioning/store/migrations';
import { SqliteStore } from '../../provisioning/store/sqlite';
import { tempDir } from '../support/service';

/** What only the SQLite file has: its folder, WAL mode, upgrades of older files. The behaviour both stores share is in store-contract.test.ts. */
describe('the SQLite store', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('creates the file and its folder, in WAL mode, at the newest schema version', async () => {
    const path = join(dir.path, 'nested', 'folder', 'new.sqlite');
    const store = new SqliteStore(path);
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('upgrades a file of an older version and keeps its rooms', async () => {
    const path = join(dir.path, 'v1.sqlite');
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO rooms (name, created_by, created_at, updated_at) VALUES ('rat', 'admin', 1, 1)").run();
    db.close();
    const store = new SqliteStore(path);
    expect(await store.getRoom('rat')).toMatchObject({ name: 'rat', startMuted: false });
    await store.upsertRoom('rat', { startMuted: true }, 'admin', 2);
    expect(await store.getRoom('rat')).toMatchObject({ startMuted: true });
    await store.close();
  });

  it('refuses a file written by a newer version instead of damaging it', () => {
    const path = join(dir.path, 'future.sqlite');
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new SqliteStore(path)).toThrow(/schema version .* newer/);
  });
});
