/**
 * What the provisioning service needs from storage. Routes and the PIN directory depend on
 * this interface only, so a PostgreSQL implementation can sit beside the SQLite one.
 * Times are milliseconds since the epoch; the HTTP layer turns them into ISO 8601.
 */

export type PinRole = 'speaker' | 'listener';
export type PinSource = 'admin' | 'mapper';
export type ListenerMode = 'separate' | 'shared';

export interface RoomRecord {
  name: string;
  title: string | null;
  password: string | null;
  /** Every caller of the room starts muted (speakers may unmute with *6). */
  startMuted: boolean;
  /**
   * Jitsi Meet's mapper may show the room's PIN, or make one. True for rooms the mapper made;
   * false once an administrator stores a password or makes a PIN, unless they set it again.
   */
  dialInPublic: boolean;
  /** How the room's listener-PIN callers reach it: each on a Jigasi leg of their own, or all on one (gateway/shared-listening.ts). */
  listeners: ListenerMode;
  createdBy: PinSource;
  createdAt: number;
  updatedAt: number;
}

export interface RoomSummary extends RoomRecord {
  pinCount: number;
}

export interface PinRecord {
  id: string;
  room: string;
  pin: string;
  label: string | null;
  role: PinRole;
  validFrom: number | null;
  validUntil: number | null;
  source: PinSource;
  createdAt: number;
  lastUsedAt: number | null;
}

export type NewPin = Omit<PinRecord, 'lastUsedAt'>;

export interface PinChanges {
  label?: string | null;
  role?: PinRole;
  validFrom?: number | null;
  validUntil?: number | null;
}

export interface RoomChanges {
  title?: string | null;
  password?: string | null;
  /** null: back to the default, false. */
  startMuted?: boolean | null;
  /** null: back to the default, public unless the room has a password or a PIN an administrator made. */
  dialInPublic?: boolean | null;
  /** null: back to the default, separate. */
  listeners?: ListenerMode | null;
}

/** A PIN joined with what a call needs of its room, from one indexed lookup. */
/** Only what Jitsi Meet's reverse lookup needs of a PIN. */
export interface RoomOfPin {
  room: string;
  validUntil: number | null;
}

export interface PinWithRoom extends PinRecord {
  roomPassword: string | null;
  roomStartMuted: boolean;
  roomListeners: ListenerMode;
}

export interface CallRecord {
  id: string;
  startedAt: number;
  endedAt: number | null;
  /** How the call ended, in the gateway's words (gateway/call-outcome.ts); null while it goes on. */
  outcome: string | null;
  room: string | null;
  pinId: string | null;
  /** Always masked (core/privacy.ts); the full number is never stored. For a dial-out: the number called. */
  caller: string;
  /** 'in': dialled in; 'out': the gateway called (a dial-out). */
  direction: CallDirection;
}

export type CallDirection = 'in' | 'out';

export interface AuditEntry {
  id: number;
  at: number;
  sub: string;
  action: string;
  target: string;
}

/** MAPPER_MAX_ROOMS mapper-made rooms exist already. */
export class MapperRoomsExhaustedError extends Error {
  constructor(readonly limit: number) {
    super(`the conference mapper has made its ${limit} rooms (MAPPER_MAX_ROOMS)`);
    this.name = 'MapperRoomsExhaustedError';
  }
}

export type AccountRole = 'admin' | 'clerk' | 'viewer';

/** A person who signs in to the admin console; the password only as its scrypt hash. */
export interface AccountRecord {
  name: string;
  role: AccountRole;
  passwordHash: string;
  createdAt: number;
}

export interface SessionRecord {
  /** SHA-256 of the cookie's token: the database never holds a usable session. */
  tokenHash: string;
  account: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface LimitedAttempt {
  id: string;
  keys: Array<{ key: string; limit: number }>;
  at: number;
  since: number;
}

/** The digits are taken by a PIN that still works or will work. */
export class PinTakenError extends Error {
  constructor() {
    super('the PIN is already in use');
    this.name = 'PinTakenError';
  }
}

export interface Store {
  upsertRoom(name: string, changes: RoomChanges, createdBy: PinSource, now: number): Promise<{ room: RoomRecord; created: boolean }>;
  getRoom(name: string): Promise<RoomRecord | undefined>;
  listRooms(): Promise<RoomSummary[]>;
  /** Deletes the room and all its PINs; false when there was no such room. */
  deleteRoom(name: string): Promise<boolean>;

  /**
   * Inserts a PIN, and its room when missing (created by `pin.source`), in one transaction.
   * Digits held by an expired PIN are taken over (the old one is deleted); digits held by a
   * PIN that works now or later throw PinTakenError and change nothing. A mapper-made PIN that
   * would make room number `maxMapperRooms + 1` throws MapperRoomsExhaustedError. An admin's
   * PIN closes its room to the mapper (dialInPublic false).
   */
  insertPin(pin: NewPin, now: number, maxMapperRooms?: number): Promise<{ pin: PinRecord; roomCreated: boolean }>;
  getPin(id: string): Promise<PinRecord | undefined>;
  listPins(room: string): Promise<PinRecord[]>;
  updatePin(id: string, changes: PinChanges): Promise<PinRecord | undefined>;
  deletePin(id: string): Promise<boolean>;
  findPinByDigits(digits: string): Promise<PinWithRoom | undefined>;
  /** Only the room and the end of validity of a PIN: what every Jitsi Meet reverse lookup needs. */
  findRoomOfPin(digits: string): Promise<RoomOfPin | undefined>;
  /** The oldest label-less speaker PIN of the room that works at `now`. */
  findPublicPin(room: string, now: number): Promise<PinRecord | undefined>;
  markPinUsed(id: string, at: number): Promise<void>;
  /** Deletes mapper-made PINs last used (or, never used, made) before `before`, then mapper-made rooms left without PINs. */
  purgeUnusedMapperPins(before: number): Promise<number>;

  insertCallRecord(record: CallRecord): Promise<void>;
  finishCallRecord(id: string, endedAt: number, outcome: string, room: string | null, pinId: string | null): Promise<void>;
  getCallRecord(id: string): Promise<CallRecord | undefined>;
  listCallRecords(limit: number): Promise<CallRecord[]>;
  purgeCallRecords(startedBefore: number): Promise<number>;

  recordPinFailure(callerKey: string, at: number): Promise<void>;
  countPinFailures(callerKey: string, since: number): Promise<number>;
  /** Wrong PINs of every caller since `since`. */
  countAllPinFailures(since: number): Promise<number>;
  purgePinFailures(before: number): Promise<number>;

  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  /** Newest first; `beforeId` continues a previous page. */
  listAudit(limit: number, beforeId?: number): Promise<AuditEntry[]>;
  /** Deletes audit entries older than `before`; returns how many. */
  purgeAudit(before: number): Promise<number>;

  /** false when an account of that name exists already. */
  insertAccount(account: AccountRecord): Promise<boolean>;
  getAccount(name: string): Promise<AccountRecord | undefined>;
  /** Also ends the account's sessions; false when there is no such account. */
  setAccountPassword(name: string, passwordHash: string): Promise<boolean>;
  /** With its sessions; false when there is no such account. */
  deleteAccount(name: string): Promise<boolean>;
  insertSession(session: SessionRecord): Promise<void>;
  /** The session and its account's role. */
  getSession(tokenHash: string): Promise<(SessionRecord & { role: AccountRole }) | undefined>;
  touchSession(tokenHash: string, at: number): Promise<void>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Deletes sessions idle since before `lastSeenBefore`; returns how many. */
  purgeSessions(lastSeenBefore: number): Promise<number>;

  /**
   * Limits that must hold across processes (sign-in attempts per account and address,
   * dial-outs per hour): counts an attempt against each key unless one of them already holds
   * `limit` attempts since `since`; then nothing is counted and the answer is false. Atomic
   * across processes: parallel attempts each see the ones before them.
   */
  takeLimitedAttempt(attempt: LimitedAttempt): Promise<boolean>;
  /** Takes back an attempt that does not count (a sign-in that succeeded). */
  refundLimitedAttempt(id: string): Promise<void>;
  purgeLimitedAttempts(before: number): Promise<number>;

  /** A value that must survive restarts, created on first use (e.g. the key that hashes caller numbers). */
  getOrCreateSetting(key: string, create: () => string): Promise<string>;
  /** A consistent copy of the whole database at `destination`, taken while the service runs. */
  backup(destination: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
