import { join } from 'node:path';
import type { MuteOutcome } from '../../provisioning/live-calls';
import { RecordingCall } from '../support/recording-call';
import { SECONDS_BY_DESIGN_MS, adminToken, jsonInit, readJson, readToken, startTestService, tempDir, until, type TestService } from '../support/service';

describe('calls, health and privacy of the running service', () => {
  const dir = tempDir();
  let service: TestService;

  beforeAll(async () => {
    // debug: the most the log ever says, so the privacy check below covers every level
    service = await startTestService(join(dir.path, 'service.sqlite'), { LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('lists live calls with masked callers and lets an admin kick one', async () => {
    expect(await readJson(await service.request('/api/v1/calls', { token: readToken() }))).toEqual({ items: [] });
    const call = new RecordingCall('call-1', '+49 4136 555134');
    service.calls.add(call);
    const listed = await readJson(await service.request('/api/v1/calls', { token: readToken() }));
    expect(listed).toEqual({
      items: [{ id: 'call-1', direction: 'in', room: 'rat', pinId: 'pin_x', label: null, role: 'speaker', caller: '…34', state: 'bridged', muted: false, startedAt: '2030-01-01T10:00:00.000Z' }],
    });
    expect(JSON.stringify(listed)).not.toContain('555134');
    expect((await service.request('/api/v1/calls/call-1', { method: 'DELETE', token: readToken() })).status).toBe(403);
    expect((await service.request('/api/v1/calls/call-1', { method: 'DELETE', token: adminToken() })).status).toBe(204);
    expect(call.hangUps).toEqual(['kicked']);
    expect((await service.directory.listAudit(1))[0]).toMatchObject({ action: 'call.kick', target: 'call-1' });
    service.calls.remove('call-1');
  });

  it('lets an admin mute a caller, and says in words why a mute did not happen', async () => {
    const call = new RecordingCall('call-2', '+49 4136 555134');
    service.calls.add(call);
    const patch = async (body: unknown, token = adminToken()) => service.request('/api/v1/calls/call-2', jsonInit('PATCH', body, token));
    expect((await patch({ muted: true }, readToken())).status).toBe(403);
    expect((await patch({ muted: 'yes' })).status).toBe(422);
    const done = await patch({ muted: true });
    expect(done.status).toBe(200);
    expect(await readJson(done)).toMatchObject({ id: 'call-2', muted: true, caller: '…34' });
    expect((await service.directory.listAudit(1))[0]).toMatchObject({ action: 'call.mute', target: 'call-2' });

    const refusals: Array<[MuteOutcome, number, string]> = [
      ['listener', 409, 'listener'],
      ['refused-by-jitsi', 409, 'refused-by-jitsi'],
      ['not-in-conference', 409, 'not-in-conference'],
      ['refused-by-freeswitch', 502, 'media-refused'],
    ];
    for (const [outcome, status, code] of refusals) {
      call.muteOutcome = outcome;
      const refused = await patch({ muted: false });
      expect([refused.status, (await readJson(refused)).error.code]).toEqual([status, code]);
    }
    expect((await service.directory.listAudit(1))[0]).toMatchObject({ action: 'call.mute' });
    service.calls.remove('call-2');
    expect((await patch({ muted: true })).status).toBe(404);
  });

  it('is healthy while running, and names what is not ready', async () => {
    expect(await readJson(await service.request('/healthz'))).toEqual({ status: 'ok' });
    const notReady = await service.request('/readyz');
    expect(notReady.status).toBe(503);
    expect(await readJson(notReady)).toEqual({ status: 'unavailable', down: { drachtio: expect.any(String), freeswitch: expect.any(String) } });
    service.readiness.markUp('drachtio');
    service.readiness.markUp('freeswitch');
    expect((await service.request('/readyz')).status).toBe(200);
    service.readiness.markDown('freeswitch', 'connect ECONNREFUSED 10.0.4.7:8021');
    expect(await readJson(await service.request('/readyz'))).toEqual({ status: 'unavailable', down: { freeswitch: 'down' } });
    expect(await readJson(await service.request('/readyz', { token: readToken() }))).toEqual({ status: 'unavailable', down: { freeswitch: 'connect ECONNREFUSED 10.0.4.7:8021' } });
    expect(await readJson(await service.request('/readyz', { token: 'not-a-token' }))).toEqual({ status: 'unavailable', down: { freeswitch: 'down' } });
    service.readiness.markUp('freeswitch');
  });

  it("tells a reader of the console each part's state with its reason, each Jigasi, and what the letters print", async () => {
    expect((await service.request('/api/v1/status')).status).toBe(401);
    service.readiness.markDown('freeswitch', 'connect ECONNREFUSED 10.0.4.7:8021');
    service.readiness.describe('jigasi', { 'sip:jigasi1.example.org': 'up', 'sip:jigasi2.example.org': 'down' });
    expect((await readJson(await service.request('/api/v1/status', { token: readToken() }))).freeswitchServers).toEqual([]);
    service.readiness.describe('freeswitch', { '10.0.4.7:8021': 'down', '10.0.4.8:8021': 'up' });
    expect(await readJson(await service.request('/api/v1/status', { token: readToken() }))).toEqual({
      ready: false,
      components: { database: { state: 'up' }, drachtio: { state: 'up' }, freeswitch: { state: 'down', reason: 'connect ECONNREFUSED 10.0.4.7:8021' } },
      jigasi: [
        { uri: 'sip:jigasi1.example.org', state: 'up' },
        { uri: 'sip:jigasi2.example.org', state: 'down' },
      ],
      freeswitchServers: [
        { name: '10.0.4.7:8021', state: 'down' },
        { name: '10.0.4.8:8021', state: 'up' },
      ],
      calls: 0,
    });
    service.readiness.describe('freeswitch', {});
    service.readiness.markUp('freeswitch');
    expect((await readJson(await service.request('/api/v1/status', { token: readToken() }))).ready).toBe(true);
    expect(await readJson(await service.request('/api/v1/settings', { token: readToken() }))).toEqual({
      municipality: '',
      dialInNumbers: [
        { countryCode: 'DE', formattedNumber: '+49 4136 123456' },
        { countryCode: 'AT', formattedNumber: '+43 1 234567' },
      ],
      callRecordRetentionDays: 30,
      language: 'de',
    });
  });

  it('is not ready while no Jigasi answers, and shows a reader each Jigasi', async () => {
    service.readiness.describe('jigasi', { 'sip:jigasi@10.0.0.7': 'down', 'sip:jigasi@10.0.0.8': 'down' });
    service.readiness.markDown('jigasi', 'no Jigasi answers SIP OPTIONS (sip:jigasi@10.0.0.7, sip:jigasi@10.0.0.8)');
    const anonymous = await service.request('/readyz');
    expect(anonymous.status).toBe(503);
    expect(await readJson(anonymous)).toEqual({ status: 'unavailable', down: { jigasi: 'down' } });
    expect(await readJson(await service.request('/readyz', { token: readToken() }))).toEqual({
      status: 'unavailable',
      down: { jigasi: 'no Jigasi answers SIP OPTIONS (sip:jigasi@10.0.0.7, sip:jigasi@10.0.0.8)' },
      jigasi: { 'sip:jigasi@10.0.0.7': 'down', 'sip:jigasi@10.0.0.8': 'down' },
    });
    service.readiness.describe('jigasi', { 'sip:jigasi@10.0.0.7': 'up', 'sip:jigasi@10.0.0.8': 'down' });
    service.readiness.markUp('jigasi');
    expect(await readJson(await service.request('/readyz', { token: readToken() }))).toEqual({ status: 'ready', jigasi: { 'sip:jigasi@10.0.0.7': 'up', 'sip:jigasi@10.0.0.8': 'down' } });
  });

  it('exports Prometheus metrics by route, without PINs in any label', async () => {
    const pin = await readJson(await service.request('/api/v1/rooms/rat/pins', jsonInit('POST', {})));
    await service.request(`/conferenceMapper?id=${pin.pin}`);
    const response = await service.request('/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/dialin_http_requests_total\{method="GET",route="\/conferenceMapper",status="200"\} \d+/);
    expect(text).toMatch(/process_cpu_seconds_total/);
    expect(text).not.toContain(pin.pin);
  });

  it('never writes a PIN, password or token to the log', async () => {
    const token = adminToken();
    await service.request('/api/v1/rooms/vorstand', jsonInit('PUT', { password: 'Kennwort-9876' }, token));
    const pin = await readJson(await service.request('/api/v1/rooms/vorstand/pins', jsonInit('POST', { pin: '73519264', label: 'Kassenwart' }, token)));
    await service.request('/conferenceMapper?id=73519264');
    await service.request('/conferenceMapper?id=81726354');
    await service.request(`/conferenceMapper?conference=vorstand@${service.config.jitsiMucDomain}`);
    await service.request('/api/v1/rooms/vorstand/pins', jsonInit('POST', { pin: '73519264' }, token));
    await service.request('/api/v1/rooms/vorstand/pins', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: '{"pin":"64738291",' });
    expect(pin.pin).toBe('73519264');
    const logs = service.logs.text;
    expect(logs).toContain('/conferenceMapper');
    for (const secret of ['73519264', '81726354', '64738291', 'Kennwort-9876', token, token.split('.')[2]!]) {
      expect(logs).not.toContain(secret);
    }
  });
});

describe('the trunks of the running service', () => {
  const dir = tempDir();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'trunks.sqlite'), {
      LOG_LEVEL: 'debug',
      TRUNK_REGISTRAR: 'sip:reg1.provider.de,sip:reg2.provider.de',
      TRUNK_USER: '0413612345',
      TRUNK_PASSWORD: 'trunk-password-never-shown',
      TRUNK_NUMBERS: '+49 4136 123456',
    });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('lists each trunk as off until the gateway registers it, to a reader only', async () => {
    expect((await service.request('/api/v1/trunks')).status).toBe(401);
    const listed = await readJson(await service.request('/api/v1/trunks', { token: readToken() }));
    expect(listed).toEqual({ items: [{ name: 'trunk', registrar: 'sip:reg1.provider.de', state: 'off', lastStatus: null, since: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/), expiresAt: null }] });
  });

  it('shows the registration, the registrar failed over to and when it runs out; never the password', async () => {
    const before = Date.now();
    service.trunks.connected(async (request) => (request.uri.includes('reg1') ? { status: 503 } : { status: 200, expires: 300 }));
    await until(() => service.trunks.list()[0]?.state === 'failing', 'the first registrar to fail');
    let listed = await readJson(await service.request('/api/v1/trunks', { token: readToken() }));
    expect(listed.items[0]).toMatchObject({ state: 'failing', lastStatus: 503, registrar: 'sip:reg2.provider.de', expiresAt: null });
    await until(() => service.trunks.list()[0]?.state === 'registered', 'the second registrar to register the trunk', 10_000);
    const response = await service.request('/api/v1/trunks', { token: readToken() });
    const text = await response.text();
    listed = JSON.parse(text);
    expect(listed.items[0]).toMatchObject({ state: 'registered', lastStatus: 200, registrar: 'sip:reg2.provider.de' });
    expect(Date.parse(listed.items[0].expiresAt) - before).toBeGreaterThanOrEqual(300_000);
    expect(text).not.toContain('trunk-password-never-shown');
    expect(service.logs.text).not.toContain('trunk-password-never-shown');
    const ready = await readJson(await service.request('/readyz'));
    expect(JSON.stringify(ready)).not.toContain('trunk-password-never-shown');
    await service.trunks.stop();
  }, 15_000);
  // Last: the service stays draining.
  it('answers /readyz 503 "draining" once the process drains, whatever else is up', async () => {
    expect((await readJson(await service.request('/readyz'))).status).not.toBe('draining');
    service.readiness.startDraining();
    const draining = await service.request('/readyz');
    expect([draining.status, await readJson(draining)]).toEqual([503, { status: 'draining' }]);
  }, SECONDS_BY_DESIGN_MS);
});
