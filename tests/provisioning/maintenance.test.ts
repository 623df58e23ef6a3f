import { join } from 'node:path';
import { PinDirectory } from '../../provisioning/directory';
import { PinResolver } from '../../provisioning/pin-resolver';
import { SqliteStore } from '../../provisioning/store/sqlite';
import { createLogger } from '../../core/logger';
import { runMaintenance } from '../../provisioning/maintenance';
import { LogCapture, MUC, tempDir } from '../support/service';

const DAY = 24 * 60 * 60 * 1000;

describe('maintenance deletes what may no longer be kept', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('purges old call records and audit entries, old PIN failures, unused mapper PINs and idle sessions, keeping the rest', async () => {
    let clock = 1_000 * DAY;
    const now = () => clock;
    const store = new SqliteStore(join(dir.path, 'maintenance.sqlite'));
    const directory = new PinDirectory({ store, pinLength: 8, mapperAutoCreate: true, mapperMaxRooms: 10_000, mapperPinTtlDays: 90, now });
    const resolver = await PinResolver.create({ store, mucDomain: MUC, pinFailuresPerHour: 10, pinFailuresGlobalPerHour: 100, now });

    const visited = await directory.publicPin('besuchter-raum', true);
    await directory.createPin('rat', {}, 'admin');
    await store.insertCallRecord({ id: 'old', startedAt: clock, endedAt: clock, outcome: 'completed', room: 'rat', pinId: null, caller: '…12', direction: 'in' });
    await resolver.recordFailure('+49 4136 555999');
    await directory.audit('kaemmerei', 'room.create', 'altraum');
    await store.insertAccount({ name: 'kaemmerei', role: 'clerk', passwordHash: 'scrypt$…', createdAt: clock });
    await store.insertSession({ tokenHash: 'idle', account: 'kaemmerei', createdAt: clock, lastSeenAt: clock });

    clock += 91 * DAY;
    await directory.audit('kaemmerei', 'room.create', 'neuraum');
    await store.insertCallRecord({ id: 'recent', startedAt: clock - DAY, endedAt: clock, outcome: 'completed', room: 'rat', pinId: null, caller: '…34', direction: 'in' });
    await store.insertSession({ tokenHash: 'active', account: 'kaemmerei', createdAt: clock - 10 * 60_000, lastSeenAt: clock - 60_000 });
    const logs = new LogCapture();
    await runMaintenance({ store, directory, resolver, callRecordRetentionDays: 30, auditRetentionDays: 60, sessionIdleMs: 30 * 60_000, logger: createLogger('info', logs), now });

    expect((await store.listCallRecords(10)).map((record) => record.id)).toEqual(['recent']);
    expect(await resolver.isLockedOut('+49 4136 555999')).toBe(false);
    expect(await store.getPin(visited!.pin.id)).toBeUndefined();
    expect((await store.listRooms()).map((room) => room.name)).toEqual(['rat']);
    expect((await store.listAudit(10)).map((entry) => entry.target)).toEqual(['neuraum']);
    expect([await store.getSession('idle'), (await store.getSession('active'))?.account]).toEqual([undefined, 'kaemmerei']);
    expect(JSON.parse(logs.lines[0]!)).toMatchObject({ callRecords: 1, auditEntries: 3, pinFailures: 1, mapperPins: 1, sessions: 1 });
    await store.close();
  });
});
