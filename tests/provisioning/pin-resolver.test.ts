import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PinDirectory } from '../../provisioning/directory';
import { PinResolver, SLOWED_PAUSE_MAX_MS, slowedPauseMs } from '../../provisioning/pin-resolver';
import { SqliteStore } from '../../provisioning/store/sqlite';
import { SECONDS_BY_DESIGN_MS, MUC, tempDir } from '../support/service';

const HOUR = 60 * 60 * 1000;

describe('resolving a PIN typed on the phone', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());
  let clock = Date.parse('2030-05-01T16:00:00Z');
  const now = () => clock;

  async function open(file: string, options: { pinFailuresGlobalPerHour?: number; now?: () => number } = {}) {
    const store = new SqliteStore(join(dir.path, file));
    const directory = new PinDirectory({ store, pinLength: 8, mapperAutoCreate: true, mapperMaxRooms: 10_000, mapperPinTtlDays: 90, now });
    const resolver = await PinResolver.create({ store, mucDomain: MUC, pinFailuresPerHour: 3, pinFailuresGlobalPerHour: 100, now, ...options });
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
      listeners: 'separate',
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

  it('opens a PIN at the instant of its validFrom and closes it at the instant of its validUntil, for the phone and for Jitsi Meet\'s reverse lookup', async () => {
    const { store, directory, resolver } = await open('boundaries.sqlite');
    const opensAt = clock + HOUR;
    const closesAt = clock + 2 * HOUR;
    const pin = await directory.createPin('sitzung', { validFrom: opensAt, validUntil: closesAt }, 'admin');
    // Jitsi Meet may show it: the reverse lookup answers only public rooms
    await directory.putRoom('sitzung', { dialInPublic: true }, 'admin');
    const openAt = async (instant: number) => {
      clock = instant;
      const resolution = await resolver.resolve(pin.pin);
      return resolution.found && resolution.openNow;
    };
    expect([await openAt(opensAt - 1), await openAt(opensAt), await openAt(closesAt - 1), await openAt(closesAt)]).toEqual([false, true, true, false]);
    // the reverse lookup answers a PIN that works now or later, and none from its validUntil on
    clock = closesAt - 1;
    expect(await directory.roomOfPin(pin.pin)).toBe('sitzung');
    clock = closesAt;
    expect(await directory.roomOfPin(pin.pin)).toBeUndefined();
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

  it('puts the anonymous callers of one trunk in one bucket, and those of another trunk in theirs', async () => {
    const { store, resolver } = await open('anonymous.sqlite');
    await resolver.recordFailure(undefined, '192.0.2.10');
    await resolver.recordFailure('anonymous', '192.0.2.10');
    await resolver.recordFailure('Restricted', '192.0.2.10');
    expect(await resolver.isLockedOut('', '192.0.2.10')).toBe(true);
    expect(await resolver.isLockedOut(undefined, '198.51.100.20')).toBe(false);
    expect(await resolver.isLockedOut('+49 4136 555123', '192.0.2.10')).toBe(false);
    await store.close();
  });

  it('slows every entry down once callers over all got PIN_FAILURES_GLOBAL_PER_HOUR wrong, and warns once a minute', async () => {
    let clock = 10 * 3_600_000;
    const { store, resolver } = await open('global.sqlite', { pinFailuresGlobalPerHour: 20, now: () => clock });
    for (let caller = 0; caller < 19; caller++) await resolver.recordFailure(`+49 4136 5551${String(caller).padStart(2, '0')}`, '192.0.2.10');
    expect(await resolver.guessingPressure()).toEqual({ slowed: false, pauseMs: 0, failuresLastHour: 19, worthAWarning: false });

    await resolver.recordFailure('+49 4136 555199', '192.0.2.10');
    expect(await resolver.guessingPressure()).toEqual({ slowed: true, pauseMs: 2_000, failuresLastHour: 20, worthAWarning: true });
    expect((await resolver.guessingPressure()).worthAWarning).toBe(false);
    clock += 59_999;
    expect((await resolver.guessingPressure()).worthAWarning).toBe(false);
    clock += 1;
    expect((await resolver.guessingPressure()).worthAWarning).toBe(true);
    clock += 3_600_000;
    expect((await resolver.guessingPressure()).slowed).toBe(false);
    await store.close();
  });

  it('pauses 2 s at the budget, doubling with each further tenth of it, at most a minute', () => {
    expect([99, 100, 110, 120, 150, 200, 10_000].map((failures) => slowedPauseMs(failures, 100))).toEqual([0, 2_000, 4_000, 8_000, 60_000, 60_000, SLOWED_PAUSE_MAX_MS]);
    expect(slowedPauseMs(3, 1)).toBe(8_000);
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
  }, SECONDS_BY_DESIGN_MS);
});
