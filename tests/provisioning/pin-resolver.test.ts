import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PinDirectory } from '../../provisioning/directory';
import { PinResolver } from '../../provisioning/pin-resolver';
import { SqliteStore } from '../../provisioning/store/sqlite';
import { MUC, tempDir } from '../support/service';

const HOUR = 60 * 60 * 1000;

describe('resolving a PIN typed on the phone', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());
  let clock = Date.parse('2030-05-01T16:00:00Z');
  const now = () => clock;

  async function open(file: string) {
    const store = new SqliteStore(join(dir.path, file));
    const directory = new PinDirectory({ store, pinLength: 8, mapperAutoCreate: true, mapperMaxRooms: 10_000, mapperPinTtlDays: 90, now });
    const resolver = await PinResolver.create({ store, mucDomain: MUC, pinFailuresPerHour: 3, now });
    return { store, directory, resolver };
  }

  it('gives the gateway what it needs to place the call', async () => {
    const { store, directory, resolver } = await open('resolve.sqlite');
    await directory.putRoom('bürgerforum', { password: '2468' }, 'admin');
    const pin = await directory.createPin('bürgerforum', { label: 'Frau Meyer', role: 'listener', validUntil: clock + HOUR }, 'admin');
    expect(await resolver.resolve(pin.pin)).toEqual({
      found: true,
      pinId: pin.id,
      room: 'bürgerforum',
      roomJid: `b%c3%bcrgerforum@${MUC}`,
      label: 'Frau Meyer',
      role: 'listener',
      password: '2468',
      startMuted: false,
      validFrom: null,
      validUntil: clock + HOUR,
      openNow: true,
    });
    clock += 2 * HOUR;
    expect(await resolver.resolve(pin.pin)).toMatchObject({ found: true, openNow: false });
    expect(await resolver.resolve('99999999')).toEqual({ found: false });

    await resolver.recordSuccess(pin.id);
    expect((await store.getPin(pin.id))?.lastUsedAt).toBe(clock);
    await store.close();
  });

  it('locks a caller out after PIN_FAILURES_PER_HOUR wrong PINs, for an hour', async () => {
    const { store, resolver } = await open('lockout.sqlite');
    const caller = '+49 4136 555123';
    for (let i = 0; i < 3; i++) {
      expect(await resolver.isLockedOut(caller)).toBe(false);
      await resolver.recordFailure(caller);
    }
    expect(await resolver.isLockedOut(caller)).toBe(true);
    expect(await resolver.isLockedOut('+49 4136 555124')).toBe(false);
    expect(await resolver.isLockedOut('sip:+494136555123@trunk')).toBe(true);
    clock += HOUR + 1;
    expect(await resolver.isLockedOut(caller)).toBe(false);
    await store.close();
  });

  it('puts all anonymous callers in one bucket', async () => {
    const { store, resolver } = await open('anonymous.sqlite');
    await resolver.recordFailure(undefined);
    await resolver.recordFailure('anonymous');
    await resolver.recordFailure('Restricted');
    expect(await resolver.isLockedOut('')).toBe(true);
    expect(await resolver.isLockedOut('+49 4136 555123')).toBe(false);
    await store.close();
  });

  it('never writes the caller number to the database, and keeps counting across a restart', async () => {
    const first = await open('hashed.sqlite');
    const caller = '+49 4136 987654';
    await first.resolver.recordFailure(caller);
    await first.resolver.recordFailure(caller);
    await first.store.close();
    const file = readFileSync(join(dir.path, 'hashed.sqlite')).toString('latin1');
    expect(file).not.toContain('4136987654');
    expect(file).not.toContain('987654');

    const second = await open('hashed.sqlite');
    await second.resolver.recordFailure(caller);
    expect(await second.resolver.isLockedOut(caller)).toBe(true);
    await second.store.close();
  });
});

describe('PIN generation at scale', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('makes 10,000 PINs across rooms: no duplicate, none trivial, none with a leading zero', async () => {
    const store = new SqliteStore(join(dir.path, 'many.sqlite'));
    const directory = new PinDirectory({ store, pinLength: 6, mapperAutoCreate: true, mapperMaxRooms: 10_000, mapperPinTtlDays: 90 });
    const pins: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      pins.push((await directory.createPin(`room-${i % 250}`, {}, 'bulk')).pin);
    }
    expect(new Set(pins).size).toBe(10_000);
    const { isTrivialPin } = await import('../../provisioning/pin-rules');
    expect(pins.filter(isTrivialPin)).toEqual([]);
    expect(pins.filter((digits) => !/^[1-9]\d{5}$/.test(digits))).toEqual([]);
    expect((await store.listRooms()).reduce((sum, room) => sum + room.pinCount, 0)).toBe(10_000);
    await store.close();
  });
});
