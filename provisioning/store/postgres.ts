import pg from 'pg';
import type { CallAction, ClusterTable } from '../cluster-calls';
import type { LiveCallView } from '../live-calls';
import { POSTGRES_MIGRATIONS } from './postgres-migrations';
import {
  MapperRoomsExhaustedError,
  PinTakenError,
  type AccountRecord,
  type AccountRole,
  type ListenerMode,
  type AuditEntry,
  type CallRecord,
  type NewPin,
  type PinChanges,
  type PinSource,
  type PinWithRoom,
  type RoomChanges,
  type RoomOfPin,
  type RoomSummary,
  type SessionRecord,
  type LimitedAttempt,
  type Store,
} from './store';
import { toPin, toRoom, type PinRow, type RoomRow } from './rows';

/** Times are BIGINT milliseconds; node-postgres hands BIGINT out as text unless told otherwise. */
const BIGINT_OID = 20;
function parseType(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === BIGINT_OID) return Number;
  return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
}
const parseTypes = { getTypeParser: parseType };

/** Any number that names "the schema lock" for pg_advisory_xact_lock; the same in every process. */
const MIGRATION_LOCK = 4_213_771;
const MAPPER_ROOMS_LOCK = 4_213_772;
const UNIQUE_VIOLATION = '23505';

const PIN_COLUMNS = 'id, room, pin, label, role, valid_from, valid_until, source, created_at, last_used_at';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** The `postgres://user:…@host/db` of a DATABASE_URL with the password left out, for messages. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}

/**
 * The Store on PostgreSQL (DATABASE_URL), for several gateway processes sharing one database.
 * Unlike SqliteStore it keeps nothing in memory: another process may change any row at any
 * time (bench/RESULTS.md has what a lookup costs).
 */
export class PostgresStore implements Store {
  private constructor(private readonly pool: pg.Pool) {}

  static async connect(url: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, types: parseTypes, max: 10, connectionTimeoutMillis: 10_000 });
    // An idle client that loses its connection must not take the process with it; the next query reconnects.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool);
    try {
      await store.migrate();
    } catch (error) {
      await pool.end();
      throw new Error(`PostgreSQL at ${describeDatabaseUrl(url)}: ${(error as Error).message}`, { cause: error });
    }
    return store;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
      const current = rows[0]?.version ?? 0;
      if (current > POSTGRES_MIGRATIONS.length) {
        throw new Error(`database schema version ${current} is newer than this program knows (${POSTGRES_MIGRATIONS.length}); refusing to touch it`);
      }
      for (const sql of POSTGRES_MIGRATIONS.slice(current)) await client.query(sql);
      if (rows.length === 0) await client.query('INSERT INTO schema_version (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length]);
      else await client.query('UPDATE schema_version SET version = $1', [POSTGRES_MIGRATIONS.length]);
    });
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async one<T extends pg.QueryResultRow>(sql: string, values: unknown[] = [], on: Queryable = this.pool): Promise<T | undefined> {
    return (await on.query<T>(sql, values)).rows[0];
  }

  private async count(sql: string, values: unknown[], on: Queryable = this.pool): Promise<number> {
    return (await this.one<{ n: number }>(sql, values, on))!.n;
  }

  private async changed(sql: string, values: unknown[] = []): Promise<number> {
    return (await this.pool.query(sql, values)).rowCount ?? 0;
  }

  async upsertRoom(name: string, changes: RoomChanges, createdBy: PinSource, now: number) {
    // A password closes the room to the mapper unless the same change opens it explicitly.
    const dialInPublic = changes.dialInPublic === undefined && typeof changes.password === 'string' ? false : changes.dialInPublic;
    return this.transaction(async (client) => {
      const inserted = await this.one<RoomRow>(
        `INSERT INTO rooms (name, title, password, start_muted, dial_in_public, created_by, created_at, updated_at, listeners)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) ON CONFLICT (name) DO NOTHING RETURNING *`,
        [name, changes.title ?? null, changes.password ?? null, changes.startMuted ?? false, dialInPublic ?? (changes.password === undefined || changes.password === null), createdBy, now, changes.listeners ?? 'separate'],
        client,
      );
      if (inserted) return { room: toRoom(inserted), created: true };
      const updated = await this.one<RoomRow>(
        `UPDATE rooms SET
           title = CASE WHEN $2 THEN $3 ELSE title END,
           password = CASE WHEN $4 THEN $5 ELSE password END,
           start_muted = COALESCE($6, start_muted),
           listeners = COALESCE($11, listeners),
           dial_in_public = CASE
             WHEN $7 THEN ((CASE WHEN $4 THEN $5 ELSE password END) IS NULL AND NOT EXISTS (SELECT 1 FROM pins WHERE pins.room = rooms.name AND pins.source = 'admin'))
             ELSE COALESCE($8, dial_in_public) END,
           created_by = CASE WHEN $9 = 'admin' THEN 'admin' ELSE created_by END,
           updated_at = $10
         WHERE name = $1 RETURNING *`,
        [
          name,
          changes.title !== undefined,
          changes.title ?? null,
          changes.password !== undefined,
          changes.password ?? null,
          changes.startMuted === undefined ? null : (changes.startMuted ?? false),
          dialInPublic === null,
          dialInPublic ?? null,
          createdBy,
          now,
          changes.listeners === undefined ? null : (changes.listeners ?? 'separate'),
        ],
        client,
      );
      return { room: toRoom(updated!), created: false };
    });
  }

  async getRoom(name: string) {
    const row = await this.one<RoomRow>('SELECT * FROM rooms WHERE name = $1', [name]);
    return row && toRoom(row);
  }

  async listRooms(): Promise<RoomSummary[]> {
    const { rows } = await this.pool.query<RoomRow & { pin_count: number }>(
      'SELECT rooms.*, (SELECT COUNT(*) FROM pins WHERE pins.room = rooms.name) AS pin_count FROM rooms ORDER BY name',
    );
    return rows.map((row) => ({ ...toRoom(row), pinCount: row.pin_count }));
  }

  async deleteRoom(name: string) {
    return (await this.changed('DELETE FROM rooms WHERE name = $1', [name])) > 0;
  }

  async insertPin(pin: NewPin, now: number, maxMapperRooms = Infinity) {
    try {
      return await this.transaction(async (client) => {
        const holder = await this.one<PinRow>('SELECT * FROM pins WHERE pin = $1 FOR UPDATE', [pin.pin], client);
        if (holder) {
          const expired = holder.valid_until !== null && holder.valid_until <= now;
          if (!expired) throw new PinTakenError();
          await client.query('DELETE FROM pins WHERE id = $1', [holder.id]);
        }
        // One mapper room at a time across processes, so that MAPPER_MAX_ROOMS holds.
        if (pin.source === 'mapper' && Number.isFinite(maxMapperRooms)) await client.query('SELECT pg_advisory_xact_lock($1)', [MAPPER_ROOMS_LOCK]);
        const roomCreated = !(await this.one('SELECT 1 FROM rooms WHERE name = $1', [pin.room], client));
        if (roomCreated && pin.source === 'mapper' && (await this.count(`SELECT COUNT(*) AS n FROM rooms WHERE created_by = 'mapper'`, [], client)) >= maxMapperRooms) {
          throw new MapperRoomsExhaustedError(maxMapperRooms);
        }
        if (roomCreated) {
          await client.query(
            `INSERT INTO rooms (name, title, password, start_muted, dial_in_public, created_by, created_at, updated_at)
             VALUES ($1, NULL, NULL, false, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING`,
            [pin.room, pin.source === 'mapper', pin.source, now],
          );
        } else if (pin.source === 'admin') {
          // A room an administrator hands out PINs for is theirs, no longer the mapper's.
          await client.query('UPDATE rooms SET dial_in_public = false, updated_at = $1 WHERE name = $2', [now, pin.room]);
        }
        const inserted = await this.one<PinRow>(
          `INSERT INTO pins (id, room, pin, label, role, valid_from, valid_until, source, created_at, last_used_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) RETURNING ${PIN_COLUMNS}`,
          [pin.id, pin.room, pin.pin, pin.label, pin.role, pin.validFrom, pin.validUntil, pin.source, pin.createdAt],
          client,
        );
        return { pin: toPin(inserted!), roomCreated };
      });
    } catch (error) {
      // Another process took the same digits between our check and our insert.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION && /pins_pin_key/.test((error as Error).message)) throw new PinTakenError();
      throw error;
    }
  }

  async getPin(id: string) {
    const row = await this.one<PinRow>(`SELECT ${PIN_COLUMNS} FROM pins WHERE id = $1`, [id]);
    return row && toPin(row);
  }

  async listPins(room: string) {
    const { rows } = await this.pool.query<PinRow>(`SELECT ${PIN_COLUMNS} FROM pins WHERE room = $1 ORDER BY created_at, id`, [room]);
    return rows.map(toPin);
  }

  async updatePin(id: string, changes: PinChanges) {
    const row = await this.one<PinRow>(
      `UPDATE pins SET
         label = CASE WHEN $2 THEN $3 ELSE label END,
         role = COALESCE($4, role),
         valid_from = CASE WHEN $5 THEN $6 ELSE valid_from END,
         valid_until = CASE WHEN $7 THEN $8 ELSE valid_until END
       WHERE id = $1 RETURNING ${PIN_COLUMNS}`,
      [id, changes.label !== undefined, changes.label ?? null, changes.role ?? null, changes.validFrom !== undefined, changes.validFrom ?? null, changes.validUntil !== undefined, changes.validUntil ?? null],
    );
    return row && toPin(row);
  }

  async deletePin(id: string) {
    return (await this.changed('DELETE FROM pins WHERE id = $1', [id])) > 0;
  }

  async findPinByDigits(digits: string): Promise<PinWithRoom | undefined> {
    const row = await this.one<PinRow & { room_password: string | null; room_start_muted: boolean; room_listeners: ListenerMode }>(
      `SELECT ${PIN_COLUMNS.split(', ').map((column) => `pins.${column}`).join(', ')}, rooms.password AS room_password, rooms.start_muted AS room_start_muted, rooms.listeners AS room_listeners
       FROM pins JOIN rooms ON rooms.name = pins.room WHERE pins.pin = $1`,
      [digits],
    );
    return row && { ...toPin(row), roomPassword: row.room_password, roomStartMuted: row.room_start_muted, roomListeners: row.room_listeners };
  }

  async findRoomOfPin(digits: string): Promise<RoomOfPin | undefined> {
    return this.one<RoomOfPin>(
      `SELECT pins.room, pins.valid_until AS "validUntil" FROM pins JOIN rooms ON rooms.name = pins.room
       WHERE pins.pin = $1 AND rooms.dial_in_public`,
      [digits],
    );
  }

  async findPublicPin(room: string, now: number) {
    const row = await this.one<PinRow>(
      `SELECT ${PIN_COLUMNS} FROM pins
       WHERE room = $1 AND label IS NULL AND role = 'speaker'
         AND (valid_from IS NULL OR valid_from <= $2)
         AND (valid_until IS NULL OR valid_until > $2)
       ORDER BY created_at, inserted LIMIT 1`,
      [room, now],
    );
    return row && toPin(row);
  }

  async markPinUsed(id: string, at: number) {
    await this.pool.query('UPDATE pins SET last_used_at = $1 WHERE id = $2', [at, id]);
  }

  async purgeUnusedMapperPins(before: number) {
    return this.transaction(async (client) => {
      const removed = (await client.query(`DELETE FROM pins WHERE source = 'mapper' AND COALESCE(last_used_at, created_at) < $1`, [before])).rowCount ?? 0;
      await client.query(`DELETE FROM rooms WHERE created_by = 'mapper' AND NOT EXISTS (SELECT 1 FROM pins WHERE pins.room = rooms.name)`);
      return removed;
    });
  }

  async insertCallRecord(record: CallRecord) {
    await this.pool.query(
      `INSERT INTO call_records (id, started_at, ended_at, outcome, room, pin_id, caller, direction) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [record.id, record.startedAt, record.endedAt, record.outcome, record.room, record.pinId, record.caller, record.direction],
    );
  }

  async finishCallRecord(id: string, endedAt: number, outcome: string, room: string | null, pinId: string | null) {
    await this.pool.query(
      'UPDATE call_records SET ended_at = $2, outcome = $3, room = COALESCE($4, room), pin_id = COALESCE($5, pin_id) WHERE id = $1',
      [id, endedAt, outcome, room, pinId],
    );
  }

  private static readonly CALL_COLUMNS = 'id, started_at AS "startedAt", ended_at AS "endedAt", outcome, room, pin_id AS "pinId", caller, direction';

  async getCallRecord(id: string) {
    return this.one<CallRecord>(`SELECT ${PostgresStore.CALL_COLUMNS} FROM call_records WHERE id = $1`, [id]);
  }

  async listCallRecords(limit: number) {
    return (await this.pool.query<CallRecord>(`SELECT ${PostgresStore.CALL_COLUMNS} FROM call_records ORDER BY started_at DESC, id LIMIT $1`, [limit])).rows;
  }

  async purgeCallRecords(startedBefore: number) {
    return this.changed('DELETE FROM call_records WHERE started_at < $1', [startedBefore]);
  }

  async recordPinFailure(callerKey: string, at: number) {
    await this.pool.query('INSERT INTO pin_failures (caller_key, at) VALUES ($1, $2)', [callerKey, at]);
  }

  async countPinFailures(callerKey: string, since: number) {
    return this.count('SELECT COUNT(*) AS n FROM pin_failures WHERE caller_key = $1 AND at >= $2', [callerKey, since]);
  }

  async countAllPinFailures(since: number) {
    return this.count('SELECT COUNT(*) AS n FROM pin_failures WHERE at >= $1', [since]);
  }

  async purgePinFailures(before: number) {
    return this.changed('DELETE FROM pin_failures WHERE at < $1', [before]);
  }

  async appendAudit(entry: Omit<AuditEntry, 'id'>) {
    await this.pool.query('INSERT INTO audit_log (at, sub, action, target) VALUES ($1, $2, $3, $4)', [entry.at, entry.sub, entry.action, entry.target]);
  }

  async listAudit(limit: number, beforeId = Number.MAX_SAFE_INTEGER) {
    return (await this.pool.query<AuditEntry>('SELECT id, at, sub, action, target FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2', [beforeId, limit])).rows;
  }

  async purgeAudit(before: number) {
    return this.changed('DELETE FROM audit_log WHERE at < $1', [before]);
  }

  async insertAccount(account: AccountRecord) {
    return (
      (await this.changed('INSERT INTO accounts (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING', [
        account.name,
        account.role,
        account.passwordHash,
        account.createdAt,
      ])) === 1
    );
  }

  async getAccount(name: string) {
    return this.one<AccountRecord>('SELECT name, role, password_hash AS "passwordHash", created_at AS "createdAt" FROM accounts WHERE name = $1', [name]);
  }

  async setAccountPassword(name: string, passwordHash: string) {
    return this.transaction(async (client) => {
      if (((await client.query('UPDATE accounts SET password_hash = $1 WHERE name = $2', [passwordHash, name])).rowCount ?? 0) === 0) return false;
      await client.query('DELETE FROM sessions WHERE account = $1', [name]);
      return true;
    });
  }

  async deleteAccount(name: string) {
    return (await this.changed('DELETE FROM accounts WHERE name = $1', [name])) === 1;
  }

  async insertSession(session: SessionRecord) {
    await this.pool.query('INSERT INTO sessions (token_hash, account, created_at, last_seen_at) VALUES ($1, $2, $3, $4)', [session.tokenHash, session.account, session.createdAt, session.lastSeenAt]);
  }

  async getSession(tokenHash: string) {
    return this.one<SessionRecord & { role: AccountRole }>(
      `SELECT s.token_hash AS "tokenHash", s.account, s.created_at AS "createdAt", s.last_seen_at AS "lastSeenAt", a.role
       FROM sessions s JOIN accounts a ON a.name = s.account WHERE s.token_hash = $1`,
      [tokenHash],
    );
  }

  async touchSession(tokenHash: string, at: number) {
    await this.pool.query('UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2', [at, tokenHash]);
  }

  async deleteSession(tokenHash: string) {
    await this.pool.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
  }

  async purgeSessions(lastSeenBefore: number) {
    return this.changed('DELETE FROM sessions WHERE last_seen_at < $1', [lastSeenBefore]);
  }

  async takeLimitedAttempt({ id, keys, at, since }: LimitedAttempt) {
    return this.transaction(async (client) => {
      // Attempts on the same keys wait for each other, in every process.
      for (const { key } of [...keys].sort((a, b) => a.key.localeCompare(b.key))) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
      for (const { key, limit } of keys) {
        if ((await this.count('SELECT COUNT(*) AS n FROM limited_attempts WHERE key = $1 AND at >= $2', [key, since], client)) >= limit) return false;
      }
      for (const { key } of keys) await client.query('INSERT INTO limited_attempts (id, key, at) VALUES ($1, $2, $3)', [id, key, at]);
      return true;
    });
  }

  async refundLimitedAttempt(id: string) {
    await this.pool.query('DELETE FROM limited_attempts WHERE id = $1', [id]);
  }

  async purgeLimitedAttempts(before: number) {
    return this.changed('DELETE FROM limited_attempts WHERE at < $1', [before]);
  }

  async getOrCreateSetting(key: string, create: () => string) {
    await this.pool.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, create()]);
    return (await this.one<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]))!.value;
  }

  /** What several processes share of their calls, in this database. */
  cluster(): ClusterTable {
    const pool = this.pool;
    return {
      exchange: async (node, calls, at, aliveSince) =>
        this.transaction(async (client) => {
          await client.query('INSERT INTO nodes (node, seen_at) VALUES ($1, $2) ON CONFLICT (node) DO UPDATE SET seen_at = $2', [node, at]);
          await client.query('DELETE FROM live_calls WHERE node = $1', [node]);
          if (calls.length > 0) {
            await client.query('INSERT INTO live_calls (id, node, view) SELECT call->>\'id\', $1, call FROM jsonb_array_elements($2::jsonb) AS call ON CONFLICT (id) DO UPDATE SET node = $1, view = EXCLUDED.view', [node, JSON.stringify(calls)]);
          }
          const { rows } = await client.query<{ view: LiveCallView }>('SELECT live_calls.view FROM live_calls JOIN nodes USING (node) WHERE node <> $1 AND nodes.seen_at >= $2 ORDER BY live_calls.id', [node, aliveSince]);
          return rows.map((row) => row.view);
        }),
      requestAction: async (callId, action, at) => (await this.one<{ id: number }>('INSERT INTO call_actions (call_id, action, requested_at) VALUES ($1, $2, $3) RETURNING id', [callId, action, at]))!.id,
      pendingActions: async (callIds) =>
        callIds.length === 0
          ? []
          : (await pool.query<{ id: number; callId: string; action: CallAction }>('SELECT id, call_id AS "callId", action FROM call_actions WHERE result IS NULL AND call_id = ANY($1::text[]) ORDER BY id', [callIds])).rows,
      answerAction: async (id, result) => {
        await pool.query('UPDATE call_actions SET result = $2 WHERE id = $1', [id, result]);
      },
      actionResult: async (id) => (await this.one<{ result: string | null }>('SELECT result FROM call_actions WHERE id = $1', [id]))?.result ?? undefined,
      leave: async (node) => {
        await this.transaction(async (client) => {
          await client.query('DELETE FROM live_calls WHERE node = $1', [node]);
          await client.query('DELETE FROM nodes WHERE node = $1', [node]);
        });
      },
      purge: async (before) => {
        await pool.query('DELETE FROM call_actions WHERE requested_at < $1', [before]);
        await pool.query('DELETE FROM live_calls WHERE node IN (SELECT node FROM nodes WHERE seen_at < $1)', [before]);
        await pool.query('DELETE FROM nodes WHERE seen_at < $1', [before]);
      },
    };
  }

  async backup(): Promise<void> {
    throw new Error('the database is PostgreSQL (DATABASE_URL): back it up with pg_dump, see the operator guide');
  }

  async ping() {
    await this.pool.query('SELECT 1');
  }

  async close() {
    await this.pool.end();
  }
}
