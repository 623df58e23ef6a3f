import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../provisioning/store/migrations';
import { SqliteStore } from '../../provisioning/store/sqlite';
import { PinTakenError, type NewPin } from '../../provisioning/store/store';
import { tempDir } from '../support/service';

const DAY = 24 * 60 * 60 * 1000;

function pin(id: string, digits: string, room: string, extra: Partial<NewPin> = {}): NewPin {
  return { id, room, pin: digits, label: null, role: 'speaker', validFrom: null, validUntil: null, source: 'admin', createdAt: 1_000, ...extra };
}

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

  it('keeps digits unique among PINs that still work and takes over expired ones', async () => {
    const store = new SqliteStore(join(dir.path, 'unique.sqlite'));
    await store.insertPin(pin('a', '48213769', 'rat'), 1_000);
    await expect(store.insertPin(pin('b', '48213769', 'chor'), 2_000)).rejects.toBeInstanceOf(PinTakenError);
    expect(await store.getRoom('chor')).toBeUndefined();

    await store.insertPin(pin('c', '59371824', 'rat', { validUntil: 5_000 }), 1_000);
    await expect(store.insertPin(pin('d', '59371824', 'chor'), 4_999)).rejects.toBeInstanceOf(PinTakenError);
    const takeover = await store.insertPin(pin('d', '59371824', 'chor'), 5_000);
    expect(takeover).toMatchObject({ roomCreated: true, pin: { id: 'd', room: 'chor' } });
    expect(await store.getPin('c')).toBeUndefined();
    await store.close();
  });

  it('purges unused mapper PINs and the rooms they made, but not admin PINs or used ones', async () => {
    const store = new SqliteStore(join(dir.path, 'purge.sqlite'));
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
    await store.close();
  });

  it('answers the room of a PIN in a public room as it is now after every kind of change to pins and rooms', async () => {
    const store = new SqliteStore(join(dir.path, 'room-of-pin.sqlite'));
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
    await store.close();
  });

  it('keeps call records until their retention ends', async () => {
    const store = new SqliteStore(join(dir.path, 'calls.sqlite'));
    await store.insertCallRecord({ id: 'old', startedAt: 1_000, endedAt: null, outcome: null, room: null, pinId: null, caller: '…12', direction: 'in' });
    await store.insertCallRecord({ id: 'new', startedAt: 50 * DAY, endedAt: null, outcome: null, room: null, pinId: null, caller: 'anonymous', direction: 'in' });
    await store.finishCallRecord('new', 50 * DAY + 60_000, 'completed', 'rat', 'pin_x');
    expect(await store.purgeCallRecords(30 * DAY)).toBe(1);
    expect(await store.listCallRecords(10)).toEqual([
      { id: 'new', direction: 'in', startedAt: 50 * DAY, endedAt: 50 * DAY + 60_000, outcome: 'completed', room: 'rat', pinId: 'pin_x', caller: 'anonymous' },
    ]);
    await store.close();
  });
});
