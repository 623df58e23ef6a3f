import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations';
import {
  MapperRoomsExhaustedError,
  PinTakenError,
  type AccountRecord,
  type AccountRole,
  type ListenerMode,
  type AuditEntry,
  type CallDirection,
  type CallRecord,
  type NewPin,
  type PinChanges,
  type PinWithRoom,
  type PinSource,
  type RoomChanges,
  type RoomOfPin,
  type RoomSummary,
  type SessionRecord,
  type LimitedAttempt,
  type Store,
} from './store';
import { toPin, toRoom, type PinRow, type RoomRow } from './rows';

interface CallRow {
  id: string;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  room: string | null;
  pin_id: string | null;
  caller: string;
  direction: CallDirection;
}

const toCall = (row: CallRow): CallRecord => ({
  id: row.id,
  startedAt: row.started_at,
  endedAt: row.ended_at,
  outcome: row.outcome,
  room: row.room,
  pinId: row.pin_id,
  caller: row.caller,
  direction: row.direction,
});

/** Brings a database file to the newest schema version. */
function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this program knows (${MIGRATIONS.length}); refusing to touch it`);
  }
  MIGRATIONS.slice(current).forEach((sql, offset) => {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${current + offset + 1}`);
    })();
  });
}

/** Distinct PINs whose room is kept in memory; past this the memory starts over. */
const ROOM_OF_PIN_MEMORY_LIMIT = 100_000;

/** The Store on an embedded SQLite file in WAL mode. Every query is a prepared statement. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly statements;
  /**
   * Jitsi Meet's reverse lookups (digits → room), answered from memory: inside a busy HTTP
   * server a SQLite read costs three times what it does alone. This process is the only writer
   * of the file, and every method that changes pins or rooms calls forgetPinLookups().
   */
  private readonly roomOfPin = new Map<string, RoomOfPin | null>();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.statements = this.prepare();
  }

  private prepare() {
    const db = this.db;
    return {
      getRoom: db.prepare<[string], RoomRow>('SELECT * FROM rooms WHERE name = ?'),
      insertRoom: db.prepare(
        `INSERT INTO rooms (name, title, password, start_muted, dial_in_public, listeners, created_by, created_at, updated_at)
         VALUES (@name, @title, @password, @startMuted, @dialInPublic, @listeners, @createdBy, @now, @now)`,
      ),
      updateRoom: db.prepare(
        `UPDATE rooms SET
           title = CASE WHEN @setTitle THEN @title ELSE title END,
           password = CASE WHEN @setPassword THEN @password ELSE password END,
           start_muted = COALESCE(@startMuted, start_muted),
           listeners = COALESCE(@listeners, listeners),
           dial_in_public = CASE
             WHEN @resetDialInPublic THEN ((CASE WHEN @setPassword THEN @password ELSE password END) IS NULL AND NOT EXISTS (SELECT 1 FROM pins WHERE pins.room = rooms.name AND pins.source = 'admin'))
             ELSE COALESCE(@dialInPublic, dial_in_public) END,
           created_by = CASE WHEN @createdBy = 'admin' THEN 'admin' ELSE created_by END,
           updated_at = @now
         WHERE name = @name`,
      ),
      listRooms: db.prepare<[], RoomRow & { pin_count: number }>(
        `SELECT rooms.*, (SELECT COUNT(*) FROM pins WHERE pins.room = rooms.name) AS pin_count
         FROM rooms ORDER BY name`,
      ),
      deleteRoom: db.prepare<[string]>('DELETE FROM rooms WHERE name = ?'),
      getPinByDigits: db.prepare<[string], PinRow>('SELECT * FROM pins WHERE pin = ?'),
      deletePin: db.prepare<[string]>('DELETE FROM pins WHERE id = ?'),
      insertPin: db.prepare(
        `INSERT INTO pins (id, room, pin, label, role, valid_from, valid_until, source, created_at, last_used_at)
         VALUES (@id, @room, @pin, @label, @role, @validFrom, @validUntil, @source, @createdAt, NULL)`,
      ),
      getPin: db.prepare<[string], PinRow>('SELECT * FROM pins WHERE id = ?'),
      listPins: db.prepare<[string], PinRow>('SELECT * FROM pins WHERE room = ? ORDER BY created_at, id'),
      updatePin: db.prepare(
        `UPDATE pins SET
           label = CASE WHEN @setLabel THEN @label ELSE label END,
           role = COALESCE(@role, role),
           valid_from = CASE WHEN @setValidFrom THEN @validFrom ELSE valid_from END,
           valid_until = CASE WHEN @setValidUntil THEN @validUntil ELSE valid_until END
         WHERE id = @id`,
      ),
      findPinWithRoom: db.prepare<[string], PinRow & { room_password: string | null; room_start_muted: number; room_listeners: ListenerMode }>(
        `SELECT pins.*, rooms.password AS room_password, rooms.start_muted AS room_start_muted, rooms.listeners AS room_listeners
         FROM pins JOIN rooms ON rooms.name = pins.room WHERE pins.pin = ?`,
      ),
      findRoomOfPin: db.prepare<[string], RoomOfPin>(
        `SELECT pins.room, pins.valid_until AS validUntil FROM pins JOIN rooms ON rooms.name = pins.room
         WHERE pins.pin = ? AND rooms.dial_in_public = 1`,
      ),
      countMapperRooms: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM rooms WHERE created_by = 'mapper'`),
      closeRoom: db.prepare<[number, string]>('UPDATE rooms SET dial_in_public = 0, updated_at = ? WHERE name = ?'),
      // Ties go to the first inserted (rowid), which the room index yields without a sort.
      findPublicPin: db.prepare<{ room: string; now: number }, PinRow>(
        `SELECT * FROM pins
         WHERE room = @room AND label IS NULL AND role = 'speaker'
           AND (valid_from IS NULL OR valid_from <= @now)
           AND (valid_until IS NULL OR valid_until > @now)
         ORDER BY created_at, rowid LIMIT 1`,
      ),
      markPinUsed: db.prepare<[number, string]>('UPDATE pins SET last_used_at = ? WHERE id = ?'),
      purgeMapperPins: db.prepare<[number]>(
        `DELETE FROM pins WHERE source = 'mapper' AND COALESCE(last_used_at, created_at) < ?`,
      ),
      purgeEmptyMapperRooms: db.prepare(
        `DELETE FROM rooms WHERE created_by = 'mapper'
           AND NOT EXISTS (SELECT 1 FROM pins WHERE pins.room = rooms.name)`,
      ),
      insertCall: db.prepare(
        `INSERT INTO call_records (id, started_at, ended_at, outcome, room, pin_id, caller, direction)
         VALUES (@id, @startedAt, @endedAt, @outcome, @room, @pinId, @caller, @direction)`,
      ),
      finishCall: db.prepare(
        `UPDATE call_records SET ended_at = @endedAt, outcome = @outcome,
           room = COALESCE(@room, room), pin_id = COALESCE(@pinId, pin_id)
         WHERE id = @id`,
      ),
      listCalls: db.prepare<[number], CallRow>('SELECT * FROM call_records ORDER BY started_at DESC, id LIMIT ?'),
      getCall: db.prepare<[string], CallRow>('SELECT * FROM call_records WHERE id = ?'),
      purgeCalls: db.prepare<[number]>('DELETE FROM call_records WHERE started_at < ?'),
      insertFailure: db.prepare<[string, number]>('INSERT INTO pin_failures (caller_key, at) VALUES (?, ?)'),
      countFailures: db.prepare<[string, number], { n: number }>(
        'SELECT COUNT(*) AS n FROM pin_failures WHERE caller_key = ? AND at >= ?',
      ),
      countAllFailures: db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM pin_failures WHERE at >= ?'),
      purgeFailures: db.prepare<[number]>('DELETE FROM pin_failures WHERE at < ?'),
      insertAudit: db.prepare('INSERT INTO audit_log (at, sub, action, target) VALUES (@at, @sub, @action, @target)'),
      insertAccount: db.prepare('INSERT INTO accounts (name, role, password_hash, created_at) VALUES (@name, @role, @passwordHash, @createdAt) ON CONFLICT(name) DO NOTHING'),
      getAccount: db.prepare<[string], AccountRecord>('SELECT name, role, password_hash AS passwordHash, created_at AS createdAt FROM accounts WHERE name = ?'),
      setAccountPassword: db.prepare('UPDATE accounts SET password_hash = ? WHERE name = ?'),
      deleteAccount: db.prepare('DELETE FROM accounts WHERE name = ?'),
      deleteSessionsOf: db.prepare('DELETE FROM sessions WHERE account = ?'),
      insertSession: db.prepare('INSERT INTO sessions (token_hash, account, created_at, last_seen_at) VALUES (@tokenHash, @account, @createdAt, @lastSeenAt)'),
      getSession: db.prepare<[string], SessionRecord & { role: AccountRole }>(
        'SELECT s.token_hash AS tokenHash, s.account, s.created_at AS createdAt, s.last_seen_at AS lastSeenAt, a.role FROM sessions s JOIN accounts a ON a.name = s.account WHERE s.token_hash = ?',
      ),
      touchSession: db.prepare('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE token_hash = ?'),
      purgeSessions: db.prepare('DELETE FROM sessions WHERE last_seen_at < ?'),
      listAudit: db.prepare<[number, number], AuditEntry>(
        'SELECT id, at, sub, action, target FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?',
      ),
      purgeAudit: db.prepare<[number]>('DELETE FROM audit_log WHERE at < ?'),
      getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      insertSetting: db.prepare<[string, string]>('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)'),
      countLimitedAttempts: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM limited_attempts WHERE key = ? AND at >= ?'),
      insertLimitedAttempt: db.prepare<[string, string, number]>('INSERT INTO limited_attempts (id, key, at) VALUES (?, ?, ?)'),
      deleteLimitedAttempt: db.prepare<[string]>('DELETE FROM limited_attempts WHERE id = ?'),
      purgeLimitedAttempts: db.prepare<[number]>('DELETE FROM limited_attempts WHERE at < ?'),
      ping: db.prepare('SELECT 1'),
    };
  }

  async upsertRoom(name: string, changes: RoomChanges, createdBy: PinSource, now: number) {
    this.forgetPinLookups();
    // A password closes the room to the mapper unless the same change opens it explicitly.
    const dialInPublic = changes.dialInPublic === undefined && typeof changes.password === 'string' ? false : changes.dialInPublic;
    return this.db.transaction(() => {
      const existing = this.statements.getRoom.get(name);
      if (existing) {
        this.statements.updateRoom.run({
          name,
          now,
          createdBy,
          setTitle: changes.title !== undefined ? 1 : 0,
          title: changes.title ?? null,
          setPassword: changes.password !== undefined ? 1 : 0,
          password: changes.password ?? null,
          startMuted: changes.startMuted === undefined ? null : Number(changes.startMuted ?? false),
          listeners: changes.listeners === undefined ? null : (changes.listeners ?? 'separate'),
          dialInPublic: dialInPublic === undefined || dialInPublic === null ? null : Number(dialInPublic),
          resetDialInPublic: dialInPublic === null ? 1 : 0,
        });
      } else {
        this.statements.insertRoom.run({
          name,
          now,
          createdBy,
          title: changes.title ?? null,
          password: changes.password ?? null,
          startMuted: Number(changes.startMuted ?? false),
          listeners: changes.listeners ?? 'separate',
          dialInPublic: Number(dialInPublic ?? (changes.password === undefined || changes.password === null)),
        });
      }
      return { room: toRoom(this.statements.getRoom.get(name)!), created: !existing };
    })();
  }

  async getRoom(name: string) {
    const row = this.statements.getRoom.get(name);
    return row && toRoom(row);
  }

  async listRooms(): Promise<RoomSummary[]> {
    return this.statements.listRooms.all().map((row) => ({ ...toRoom(row), pinCount: row.pin_count }));
  }

  async deleteRoom(name: string) {
    this.forgetPinLookups();
    return this.statements.deleteRoom.run(name).changes > 0;
  }

  async insertPin(pin: NewPin, now: number, maxMapperRooms = Infinity) {
    this.forgetPinLookups();
    return this.db.transaction(() => {
      const holder = this.statements.getPinByDigits.get(pin.pin);
      if (holder) {
        const expired = holder.valid_until !== null && holder.valid_until <= now;
        if (!expired) throw new PinTakenError();
        this.statements.deletePin.run(holder.id);
      }
      const roomCreated = !this.statements.getRoom.get(pin.room);
      if (roomCreated && pin.source === 'mapper' && this.statements.countMapperRooms.get()!.n >= maxMapperRooms) {
        throw new MapperRoomsExhaustedError(maxMapperRooms);
      }
      if (roomCreated) {
        const dialInPublic = Number(pin.source === 'mapper');
        this.statements.insertRoom.run({ name: pin.room, now, createdBy: pin.source, title: null, password: null, startMuted: 0, listeners: 'separate', dialInPublic });
      } else if (pin.source === 'admin') {
        // A room an administrator hands out PINs for is theirs, no longer the mapper's.
        this.statements.closeRoom.run(now, pin.room);
      }
      this.statements.insertPin.run(pin);
      return { pin: toPin(this.statements.getPin.get(pin.id)!), roomCreated };
    })();
  }

  async getPin(id: string) {
    const row = this.statements.getPin.get(id);
    return row && toPin(row);
  }

  async listPins(room: string) {
    return this.statements.listPins.all(room).map(toPin);
  }

  async updatePin(id: string, changes: PinChanges) {
    this.forgetPinLookups();
    const result = this.statements.updatePin.run({
      id,
      setLabel: changes.label !== undefined ? 1 : 0,
      label: changes.label ?? null,
      role: changes.role ?? null,
      setValidFrom: changes.validFrom !== undefined ? 1 : 0,
      validFrom: changes.validFrom ?? null,
      setValidUntil: changes.validUntil !== undefined ? 1 : 0,
      validUntil: changes.validUntil ?? null,
    });
    return result.changes > 0 ? this.getPin(id) : undefined;
  }

  async deletePin(id: string) {
    this.forgetPinLookups();
    return this.statements.deletePin.run(id).changes > 0;
  }

  async findPinByDigits(digits: string): Promise<PinWithRoom | undefined> {
    const row = this.statements.findPinWithRoom.get(digits);
    return row && { ...toPin(row), roomPassword: row.room_password, roomStartMuted: row.room_start_muted === 1, roomListeners: row.room_listeners };
  }

  async findRoomOfPin(digits: string) {
    let found = this.roomOfPin.get(digits);
    if (found === undefined) {
      found = this.statements.findRoomOfPin.get(digits) ?? null;
      if (this.roomOfPin.size >= ROOM_OF_PIN_MEMORY_LIMIT) this.roomOfPin.clear();
      this.roomOfPin.set(digits, found);
    }
    return found ?? undefined;
  }

  private forgetPinLookups(): void {
    this.roomOfPin.clear();
  }

  async findPublicPin(room: string, now: number) {
    const row = this.statements.findPublicPin.get({ room, now });
    return row && toPin(row);
  }

  async markPinUsed(id: string, at: number) {
    this.statements.markPinUsed.run(at, id);
  }

  async purgeUnusedMapperPins(before: number) {
    this.forgetPinLookups();
    return this.db.transaction(() => {
      const removed = this.statements.purgeMapperPins.run(before).changes;
      this.statements.purgeEmptyMapperRooms.run();
      return removed;
    })();
  }

  async insertCallRecord(record: CallRecord) {
    this.statements.insertCall.run(record);
  }

  async finishCallRecord(id: string, endedAt: number, outcome: string, room: string | null, pinId: string | null) {
    this.statements.finishCall.run({ id, endedAt, outcome, room, pinId });
  }

  async getCallRecord(id: string) {
    const row = this.statements.getCall.get(id);
    return row === undefined ? undefined : toCall(row);
  }

  async listCallRecords(limit: number) {
    return this.statements.listCalls.all(limit).map(toCall);
  }

  async purgeCallRecords(startedBefore: number) {
    return this.statements.purgeCalls.run(startedBefore).changes;
  }

  async recordPinFailure(callerKey: string, at: number) {
    this.statements.insertFailure.run(callerKey, at);
  }

  async countPinFailures(callerKey: string, since: number) {
    return this.statements.countFailures.get(callerKey, since)!.n;
  }

  async countAllPinFailures(since: number) {
    return this.statements.countAllFailures.get(since)!.n;
  }

  async purgePinFailures(before: number) {
    return this.statements.purgeFailures.run(before).changes;
  }

  async appendAudit(entry: Omit<AuditEntry, 'id'>) {
    this.statements.insertAudit.run(entry);
  }

  async purgeAudit(before: number) {
    return this.statements.purgeAudit.run(before).changes;
  }

  async listAudit(limit: number, beforeId = Number.MAX_SAFE_INTEGER) {
    return this.statements.listAudit.all(beforeId, limit);
  }

  async insertAccount(account: AccountRecord) {
    return this.statements.insertAccount.run(account).changes === 1;
  }

  async getAccount(name: string) {
    return this.statements.getAccount.get(name);
  }

  async setAccountPassword(name: string, passwordHash: string) {
    return this.db.transaction(() => {
      if (this.statements.setAccountPassword.run(passwordHash, name).changes === 0) return false;
      this.statements.deleteSessionsOf.run(name);
      return true;
    })();
  }

  async deleteAccount(name: string) {
    return this.statements.deleteAccount.run(name).changes === 1;
  }

  async insertSession(session: SessionRecord) {
    this.statements.insertSession.run(session);
  }

  async getSession(tokenHash: string) {
    return this.statements.getSession.get(tokenHash);
  }

  async touchSession(tokenHash: string, at: number) {
    this.statements.touchSession.run(at, tokenHash);
  }

  async deleteSession(tokenHash: string) {
    this.statements.deleteSession.run(tokenHash);
  }

  async purgeSessions(lastSeenBefore: number) {
    return this.statements.purgeSessions.run(lastSeenBefore).changes;
  }

  async takeLimitedAttempt({ id, keys, at, since }: LimitedAttempt) {
    return this.db.transaction(() => {
      if (keys.some(({ key, limit }) => this.statements.countLimitedAttempts.get(key, since)!.n >= limit)) return false;
      for (const { key } of keys) this.statements.insertLimitedAttempt.run(id, key, at);
      return true;
    })();
  }

  async refundLimitedAttempt(id: string) {
    this.statements.deleteLimitedAttempt.run(id);
  }

  async purgeLimitedAttempts(before: number) {
    return this.statements.purgeLimitedAttempts.run(before).changes;
  }

  async getOrCreateSetting(key: string, create: () => string) {
    return this.db.transaction(() => {
      this.statements.insertSetting.run(key, create());
      return this.statements.getSetting.get(key)!.value;
    })();
  }

  async backup(destination: string) {
    await this.db.backup(destination);
  }

  async ping() {
    this.statements.ping.get();
  }

  async close() {
    this.db.close();
  }
}
