/**
 * Schema versions, applied in order at start; PRAGMA user_version records how far a file has come.
 * Append new versions, never edit a released one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE rooms (
    name       TEXT PRIMARY KEY,
    title      TEXT,
    password   TEXT,
    created_by TEXT NOT NULL CHECK (created_by IN ('admin', 'mapper')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE pins (
    id           TEXT PRIMARY KEY,
    room         TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
    pin          TEXT NOT NULL UNIQUE,
    label        TEXT,
    role         TEXT NOT NULL CHECK (role IN ('speaker', 'listener')),
    valid_from   INTEGER,
    valid_until  INTEGER,
    source       TEXT NOT NULL CHECK (source IN ('admin', 'mapper')),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
  );
  CREATE INDEX pins_by_room ON pins(room, created_at);
  CREATE TABLE call_records (
    id         TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    outcome    TEXT,
    room       TEXT,
    pin_id     TEXT,
    caller     TEXT NOT NULL
  );
  CREATE INDEX call_records_by_start ON call_records(started_at);
  CREATE TABLE pin_failures (
    caller_key TEXT NOT NULL,
    at         INTEGER NOT NULL
  );
  CREATE INDEX pin_failures_by_caller ON pin_failures(caller_key, at);
  CREATE INDEX pin_failures_by_time ON pin_failures(at);
  CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    sub    TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
  );
  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // v2: rooms whose callers start muted (large public sessions).
  `ALTER TABLE rooms ADD COLUMN start_muted INTEGER NOT NULL DEFAULT 0;`,
  // v3: whether Jitsi Meet's mapper may show (or make) the room's PIN. Public are the rooms
  // nobody manages: no stored password and no PIN an administrator made.
  `ALTER TABLE rooms ADD COLUMN dial_in_public INTEGER NOT NULL DEFAULT 0;
   UPDATE rooms SET dial_in_public = 1
     WHERE password IS NULL AND NOT EXISTS (SELECT 1 FROM pins WHERE pins.room = rooms.name AND pins.source = 'admin');`,
  // v4: calls the gateway placed (dial-outs) beside the calls it took.
  `ALTER TABLE call_records ADD COLUMN direction TEXT NOT NULL DEFAULT 'in';`,
  // v5: accounts of the admin console and their sessions (only a hash of each session's token).
  `CREATE TABLE accounts (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
  );
  CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    account      TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  );
  CREATE INDEX sessions_by_account ON sessions(account);`,
  // v6: attempts under a limit (sign-ins, dial-outs), counted in the database so that the limits hold across processes.
  `CREATE TABLE limited_attempts (
    id  TEXT NOT NULL,
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
  );
  CREATE INDEX limited_attempts_by_key ON limited_attempts(key, at);
  CREATE INDEX limited_attempts_by_id ON limited_attempts(id);`,
  // v7: rooms whose listeners share one Jigasi leg.
  `ALTER TABLE rooms ADD COLUMN listeners TEXT NOT NULL DEFAULT 'separate' CHECK (listeners IN ('separate', 'shared'));`,
];
