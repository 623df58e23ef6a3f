import { join } from 'node:path';
import { JIGASI_1, harness, until } from '../gateway/harness';
import { adminToken, hsToken, jsonInit, readJson, readToken, startTestService, tempDir, type TestService } from '../support/service';

/** POST/GET/DELETE of dial-outs over HTTP (SPEC §6), the gateway side on the fakes of drachtio-srf and drachtio-fsmrf. */

describe('dial-outs through the API', () => {
  const dir = tempDir();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'dial-outs.sqlite'), {
      LOG_LEVEL: 'debug',
      TRUNK_REGISTRAR: 'sip:reg1.provider.de',
      TRUNK_USER: '0413612345',
      TRUNK_PASSWORD: 'trunk-password',
      TRUNK_NUMBERS: '+49 4136 123456',
      DIALOUT_MAX_CONCURRENT: '1',
    });
    await service.request('/api/v1/rooms/gemeinderat', jsonInit('PUT', { password: '2468' }));
  });
  afterAll(async () => {
    await service.trunks.stop();
    await service.stop();
    dir.cleanup();
  });

  const dialOut = async (body: unknown, token = adminToken(), room = 'gemeinderat') => service.request(`/api/v1/rooms/${room}/dial-outs`, jsonInit('POST', body, token));

  it('refuses bad input with a clear error and places nothing', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{}, 422, 'invalid'],
      [{ number: 4136555777 }, 422, 'invalid'],
      [{ number: '+49 4136 555777', label: 'x'.repeat(65) }, 422, 'invalid'],
      [{ number: '+49 4136 555777', callerId: '+49 900 1' }, 422, 'invalid'],
      [{ number: '+49 900 123456' }, 422, 'number-not-allowed'],
      [{ number: '+44 20 7946 0018' }, 422, 'number-not-allowed'],
      [{ number: 'Frau Meyer' }, 422, 'number-not-allowed'],
    ];
    for (const [body, status, code] of cases) {
      const response = await dialOut(body);
      expect({ body, status: response.status, code: (await readJson(response)).error?.code }).toEqual({ body, status, code });
    }
    expect((await dialOut({ number: '+49 4136 555777' }, readToken())).status).toBe(403);
    expect((await dialOut({ number: '+49 4136 555777' }, adminToken(), 'no-such-room')).status).toBe(404);
    expect((await readJson(await service.request('/api/v1/audit', { token: readToken() }))).items.map((entry: { action: string }) => entry.action)).not.toContain('dial-out.place');
  });

  it('is unavailable (503) while no trunk is registered', async () => {
    const response = await dialOut({ number: '+49 4136 555777' });
    expect(response.status).toBe(503);
    expect((await readJson(response)).error.code).toBe('dial-out-unavailable');
  });

  it('places a call (202), shows it, lists it among the calls, and hangs it up', async () => {
    service.trunks.connected(async () => ({ status: 200, expires: 600 }));
    await until(() => service.trunks.list()[0]?.state === 'registered', 'the trunk registration');
    const h = await harness({}, { [JIGASI_1]: [{ status: 200 }] });
    h.srf.script('sip:+494136555777@reg1.provider.de', { status: 200, provisional: [180], ringForever: true });
    service.dialOuts.attach({ ...h.callDependencies(), registry: service.calls });

    const response = await dialOut({ number: '04136 555777', label: 'Herr Schulz' });
    expect(response.status).toBe(202);
    const placed = await readJson(response);
    expect(placed).toEqual({ id: expect.any(String), room: 'gemeinderat', label: 'Herr Schulz', number: '…77', state: 'calling', startedAt: expect.stringMatching(/Z$/) });
    await until(() => service.calls.list()[0]?.state === 'ringing', 'the callee to ring');
    expect(await readJson(await service.request(`/api/v1/dial-outs/${placed.id}`, { token: readToken() }))).toMatchObject({ id: placed.id, state: 'ringing', number: '…77' });
    expect((await readJson(await service.request('/api/v1/calls', { token: readToken() }))).items).toEqual([expect.objectContaining({ id: placed.id, direction: 'out', caller: '…77', label: 'Herr Schulz' })]);
    expect((await dialOut({ number: '04136 555778' })).status).toBe(429);

    expect((await service.request(`/api/v1/dial-outs/${placed.id}`, { method: 'DELETE', token: hsToken('dialin:read') })).status).toBe(403);
    expect((await service.request(`/api/v1/dial-outs/${placed.id}`, { method: 'DELETE', token: adminToken() })).status).toBe(204);
    await until(() => service.calls.size === 0, 'the dial-out to end');
    expect(h.srf.invitesSent[0]!.request.cancelsSent).toBe(1);
    expect((await service.request(`/api/v1/dial-outs/${placed.id}`, { method: 'DELETE', token: adminToken() })).status).toBe(404);
    const audit = (await readJson(await service.request('/api/v1/audit', { token: readToken() }))).items.map((entry: { action: string; target: string }) => `${entry.action} ${entry.target}`);
    expect(audit).toEqual(expect.arrayContaining([`dial-out.place gemeinderat …77 ${placed.id}`, `dial-out.hang-up ${placed.id}`]));
    expect(service.logs.text).not.toContain('555777');
    service.dialOuts.attach(undefined);
    await h.close();
  });

  it('answers 404 for a dial-out it does not know', async () => {
    expect((await service.request('/api/v1/dial-outs/nothing-here', { token: readToken() })).status).toBe(404);
  });
});
