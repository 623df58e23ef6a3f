import { join } from 'node:path';
import { adminToken, jsonInit, readJson, startTestService, tempDir, type TestService } from '../support/service';

/**
 * Bad input gets a clear 4xx in the error format and leaves the directory exactly as it was.
 * Each test has a service and database of its own, holding one room with one PIN: none depends
 * on what another did.
 */
describe('bad input to the admin API', () => {
  const dir = tempDir();
  let service: TestService;
  let databases = 0;
  const token = adminToken();

  beforeEach(async () => {
    service = await startTestService(join(dir.path, `input-${++databases}.sqlite`));
    const response = await service.request('/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { label: 'Vorsitz' }));
    expect(response.status).toBe(201);
  });
  afterEach(async () => service.stop());
  afterAll(() => dir.cleanup());

  async function snapshot() {
    const rooms = await readJson(await service.request('/api/v1/rooms', { token }));
    const room = await readJson(await service.request('/api/v1/rooms/ratssitzung', { token }));
    const audit = await readJson(await service.request('/api/v1/audit', { token }));
    return { rooms, room, audit };
  }

  async function expectRefused(response: Response, status: number) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = await readJson(response);
    expect(body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    expect(body.error.message).not.toMatch(/at \w+ \(|node_modules|SqliteError/);
    return body;
  }

  const raw = (method: string, body: string, contentType = 'application/json') => ({
    method,
    token,
    headers: { 'content-type': contentType },
    body,
  });

  const bodyCases: Array<[string, string, RequestInit & { token: string }, number]> = [
    ['malformed JSON', '/api/v1/rooms/ratssitzung/pins', raw('POST', '{"label": "Vorsitz",'), 400],
    ['a JSON array', '/api/v1/rooms/ratssitzung/pins', raw('POST', '[]'), 422],
    ['a JSON string', '/api/v1/rooms/ratssitzung', raw('PUT', '"title"'), 400],
    ['a number as label', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { label: 42 }), 422],
    ['a number as PIN', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { pin: 48213769 }), 422],
    ['an unknown role', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { role: 'moderator' }), 422],
    ['an unknown field', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { label: 'x', admin: true }), 422],
    ['an unknown field on a room', '/api/v1/rooms/ratssitzung', jsonInit('PUT', { title: 'x', owner: 'y' }), 422],
    ['a date that is no date', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { validFrom: 'tomorrow' }), 422],
    ['validUntil before validFrom', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { validFrom: '2030-01-02T00:00:00Z', validUntil: '2030-01-01T00:00:00Z' }), 422],
    ['a label with a line break', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { label: 'a\r\nVia: x' }), 422],
    ['a label with quotes', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { label: '"Mayor" <sip:x>' }), 422],
    ['a 1 MB body', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { label: 'x'.repeat(1024 * 1024) }), 413],
    ['a form body', '/api/v1/rooms/ratssitzung/pins', raw('POST', 'label=x', 'application/x-www-form-urlencoded'), 415],
    ['a text body', '/api/v1/rooms/ratssitzung', raw('PUT', '{"title":"x"}', 'text/plain'), 415],
    ['custom PIN 000000', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { pin: '000000' }), 422],
    ['custom PIN 123456', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { pin: '123456' }), 422],
    ['custom PIN 12345678901234', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { pin: '12345678901234' }), 422],
    ['custom PIN 12ab56', '/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { pin: '12ab56' }), 422],
    ['a PATCH with a field that cannot change', '/api/v1/pins/unknown', jsonInit('PATCH', { pin: '482137' }), 422],
  ];

  it.each(bodyCases)('%s → %i', async (_name, path, init, status) => {
    const before = await snapshot();
    await expectRefused(await service.request(path, init), status);
    expect(await snapshot()).toEqual(before);
  });

  const roomNames: Array<[string, string, number]> = [
    ['a slash (encoded)', 'a%2Fb', 422],
    ['a slash (raw)', 'a/b', 404],
    ['..', '..', 404],
    ['.. inside', 'a..b', 422],
    ['%00', 'a%00b', 422],
    ['an emoji', encodeURIComponent('party🎉'), 422],
    ['500 characters', 'x'.repeat(500), 422],
    ['a second @', encodeURIComponent('a@b@conference.meet.example.org'), 422],
    ['another MUC domain', encodeURIComponent('a@conference.evil.example.org'), 422],
    ['broken percent-encoding', '%E0%A4%A', 400],
  ];

  it.each(roomNames)('a room name with %s is refused', async (_name, encoded, status) => {
    const before = await snapshot();
    await expectRefused(await service.request(`/api/v1/rooms/${encoded}/pins`, jsonInit('POST', {})), status);
    await expectRefused(await service.request(`/api/v1/rooms/${encoded}`, jsonInit('PUT', { title: 'x' })), status);
    expect(await snapshot()).toEqual(before);
  });

  it('normalises mixed case instead of creating a second room', async () => {
    const response = await service.request('/api/v1/rooms/RatsSitzung', { token });
    expect(response.status).toBe(200);
    expect((await readJson(response)).name).toBe('ratssitzung');
    const rooms = await readJson(await service.request('/api/v1/rooms', { token }));
    expect(rooms.items.map((room: { name: string }) => room.name)).toEqual(['ratssitzung']);
  });

  it('answers 409 for a custom PIN that is taken, and changes nothing', async () => {
    const first = await service.request('/api/v1/rooms/ausschuss/pins', jsonInit('POST', { pin: '48213769' }));
    expect(first.status).toBe(201);
    const before = await snapshot();
    const rooms = await readJson(await service.request('/api/v1/rooms/ausschuss/pins', { token }));
    await expectRefused(await service.request('/api/v1/rooms/ratssitzung/pins', jsonInit('POST', { pin: '48213769' })), 409);
    expect(await snapshot()).toEqual(before);
    expect(await readJson(await service.request('/api/v1/rooms/ausschuss/pins', { token }))).toEqual(rooms);
  });

  it('answers unknown routes and ids with 404 in the error format', async () => {
    await expectRefused(await service.request('/api/v1/nothing', { token }), 404);
    await expectRefused(await service.request('/api/v1/rooms/nobody', { token }), 404);
    await expectRefused(await service.request('/api/v1/pins/pin_unknown', jsonInit('PATCH', { label: 'x' })), 404);
    await expectRefused(await service.request('/api/v1/pins/pin_unknown', { method: 'DELETE', token }), 404);
    await expectRefused(await service.request('/api/v1/calls/c1', { method: 'DELETE', token }), 404);
  });

  it('refuses a bad audit page parameter', async () => {
    await expectRefused(await service.request('/api/v1/audit?limit=100000', { token }), 422);
    await expectRefused(await service.request('/api/v1/audit?after=abc', { token }), 422);
  });
});
