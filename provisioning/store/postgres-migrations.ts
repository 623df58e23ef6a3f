/**
 * PostgreSQL schema versions, applied in order at start under an advisory lock (several
 * gateway processes may start at once); the table schema_version records how far the database
 * has come. Version 1 is the shape SQLite reached in its version 6. Append, never edit.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE rooms (
    name           TEXT PRIMARY KEY,
    title          TEXT,
    password       TEXT,
    start_muted    BOOLEAN NOT NULL DEFAULT false,
    dial_in_public BOOLEAN NOT NULL DEFAULT false,
    created_by     TEXT NOT NULL CHECK (created_by IN ('admin', 'mapper')),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
  );
  CREATE TABLE pins (
    id           TEXT PRIMARY KEY,
    room         TEXT NOT NULL REFERENCES rooms(name) ON DELETE CASCADE,
    pin          TEXT NOT NULL UNIQUE,
    label        TEXT,
    role         TEXT NOT NULL CHECK (role IN ('speaker', 'listener')),
    valid_from   BIGINT,
    valid_until  BIGINT,
    source       TEXT NOT NULL CHECK (source IN ('admin', 'mapper')),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    -- insertion order: ties of created_at go to the first inserted, as SQLite's rowid does
    inserted     BIGSERIAL NOT NULL
  );
  CREATE INDEX pins_by_room ON pins(room, created_at, inserted);
  CREATE TABLE call_records (
    id         TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    ended_at   BIGINT,
    outcome    TEXT,
    room       TEXT,
    pin_id     TEXT,
    caller     TEXT NOT NULL,
    direction  TEXT NOT NULL DEFAULT 'in'
  );
  CREATE INDEX call_records_by_start ON call_records(started_at);
  CREATE TABLE pin_failures (
    caller_key TEXT NOT NULL,
    at         BIGINT NOT NULL
  );
  CREATE INDEX pin_failures_by_caller ON pin_failures(caller_key, at);
  CREATE INDEX pin_failures_by_time ON pin_failures(at);
  CREATE TABLE audit_log (
    id     BIGSERIAL PRIMARY KEY,
    at     BIGINT NOT NULL,
    sub    TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
  );
  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE accounts (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
  );
  CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    account      TEXT NOT NULL REFERENCES accounts(name) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
  );
  CREATE INDEX sessions_by_account ON sessions(account);
  CREATE TABLE limited_attempts (
    id  TEXT NOT NULL,
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
  );
  CREATE INDEX limited_attempts_by_key ON limited_attempts(key, at);
  CREATE INDEX limited_attempts_by_id ON limited_attempts(id);
  `,
  // v2: what several processes share of their calls (provisioning/cluster-calls.ts).
  `
  CREATE TABLE nodes (
    node    TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
  );
  CREATE TABLE live_calls (
    id   TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    view JSONB NOT NULL
  );
  CREATE INDEX live_calls_by_node ON live_calls(node);
  CREATE TABLE call_actions (
    id           BIGSERIAL PRIMARY KEY,
    call_id      TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('hang-up', 'mute', 'unmute')),
    requested_at BIGINT NOT NULL,
    result       TEXT
  );
  CREATE INDEX call_actions_open ON call_actions(call_id) WHERE result IS NULL;
  `,
  // v3: rooms whose listeners share one Jigasi leg.
  `ALTER TABLE rooms ADD COLUMN listeners TEXT NOT NULL DEFAULT 'separate' CHECK (listeners IN ('separate', 'shared'));`,
];
