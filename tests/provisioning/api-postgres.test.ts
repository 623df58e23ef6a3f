import { runCli } from '../../app/cli';
import { RecordingCall } from '../support/recording-call';
import { startPostgres, type TestPostgres } from '../../tools/testbed/postgres';
import { adminToken, jsonInit, readJson, startTestService, testEnv, type TestService } from '../support/service';

/**
 * Two processes of the service on one PostgreSQL database (DATABASE_URL), as a data centre runs
 * them behind one address: what one changes, the other answers at once; the sign-in lockout
 * counts the attempts both took.
 */

describe('two service processes on one PostgreSQL database', () => {
  let postgres: TestPostgres;
  let first: TestService;
  let second: TestService;
  const PASSWORD = 'Sitzungsdienst-2026!';

  beforeAll(async () => {
    postgres = await startPostgres();
    const url = await postgres.createDatabase();
    const io = { out: () => undefined, err: (text: string) => void process.stderr.write(text), input: async () => `${PASSWORD}\n` };
    expect(await runCli(['user', 'add', 'kaemmerei', '--role', 'clerk', '--password-stdin'], testEnv({ DATABASE_URL: url }), io)).toBe(0);
    // DB_PATH points nowhere usable: with DATABASE_URL no SQLite file may be made.
    first = await startTestService('/nonexistent/never.sqlite', { DATABASE_URL: url, COOKIE_SECURE: 'false' });
    second = await startTestService('/nonexistent/never.sqlite', { DATABASE_URL: url, COOKIE_SECURE: 'false' });
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await postgres?.stop();
  });

  it('answers in one process what the other just changed: a PIN, a closed room, a deleted PIN', async () => {
    const created = await readJson(await first.request('/api/v1/rooms/gemeinderat/pins', jsonInit('POST', { label: 'Frau Meyer' })));
    expect((await readJson(await second.request('/api/v1/rooms/gemeinderat', { token: adminToken() }))).pins).toEqual([expect.objectContaining({ id: created.id, pin: created.pin, label: 'Frau Meyer' })]);
    expect(await second.resolver.resolve(created.pin)).toMatchObject({ found: true, openNow: true, room: 'gemeinderat', label: 'Frau Meyer' });

    await first.request('/api/v1/rooms/oeffentlich', jsonInit('PUT', { dialInPublic: true }));
    const mapped = await readJson(await second.request('/conferenceMapper?conference=oeffentlich@conference.meet.example.org'));
    expect(await readJson(await first.request(`/conferenceMapper?id=${mapped.id}`))).toMatchObject({ conference: 'oeffentlich@conference.meet.example.org' });
    await second.request('/api/v1/rooms/oeffentlich', jsonInit('PUT', { dialInPublic: false }));
    expect(await readJson(await first.request(`/conferenceMapper?id=${mapped.id}`))).toEqual({ id: mapped.id, conference: false });

    expect((await second.request(`/api/v1/pins/${created.id}`, { method: 'DELETE', token: adminToken() })).status).toBe(204);
    expect(await first.resolver.resolve(created.pin)).toMatchObject({ found: false });
    const audit = (await readJson(await first.request('/api/v1/audit', { token: adminToken() }))).items.map((entry: { action: string }) => entry.action);
    expect(audit).toEqual(expect.arrayContaining(['pin.create', 'room.create', 'room.update', 'pin.delete']));
  });

  it('locks an account after five wrong passwords, wherever they were tried', async () => {
    const signIn = async (service: TestService, password: string) =>
      (await fetch(`${service.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'kaemmerei', password }) })).status;
    const statuses = [];
    for (let attempt = 0; attempt < 5; attempt++) statuses.push(await signIn(attempt % 2 === 0 ? first : second, `falsch-${attempt}`));
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    expect(await signIn(second, PASSWORD)).toBe(429);
    expect(await signIn(first, PASSWORD)).toBe(429);
  });

  it("lists every process's calls in each process's API, and hangs up or mutes a call through the process that owns it", async () => {
    const call = new RecordingCall('call-on-first', '+49 4136 555134');
    first.calls.add(call);
    const listedBySecond = async () => (await readJson(await second.request('/api/v1/calls', { token: adminToken() }))).items.map((item: { id: string }) => item.id);
    for (let attempt = 0; !(await listedBySecond()).includes('call-on-first'); attempt++) {
      if (attempt > 40) throw new Error(`the second process never listed the first one's call: ${first.logs.lines.filter((line) => line.includes('cluster')).slice(-2).join(' ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const muted = await second.request('/api/v1/calls/call-on-first', jsonInit('PATCH', { muted: true }));
    expect(muted.status).toBe(200);
    expect(await readJson(muted)).toMatchObject({ id: 'call-on-first', caller: '…34' });
    expect((await second.request('/api/v1/calls/call-on-first', { method: 'DELETE', token: adminToken() })).status).toBe(204);
    for (let attempt = 0; call.hangUps.length === 0; attempt++) {
      if (attempt > 40) throw new Error('the owning process never hung the call up');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(call.hangUps).toEqual(['kicked']);
    first.calls.remove('call-on-first');
    expect((await second.request('/api/v1/calls/nobody', { method: 'DELETE', token: adminToken() })).status).toBe(404);
  });
});
