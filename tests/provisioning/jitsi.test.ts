import { join } from 'node:path';
import { MUC, jsonInit, readJson, startTestService, tempDir, type TestService } from '../support/service';

/** What Jitsi Meet's invite dialog asks, and exactly what it gets (jitsi-contract.md). */
describe("Jitsi Meet's conference mapper and number list", () => {
  const dir = tempDir();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'jitsi.sqlite'), { CORS_ORIGINS: 'https://meet.example.org' });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('round-trips conference → id → conference with the exact JSON shapes', async () => {
    const url = encodeURIComponent('https://meet.example.org/Elternabend');
    const forward = await service.request(`/conferenceMapper?conference=Elternabend@${MUC}&url=${url}`);
    expect(forward.status).toBe(200);
    const mapping = await readJson(forward);
    expect(mapping).toEqual({ message: expect.any(String), id: expect.any(Number), conference: `elternabend@${MUC}` });
    expect(String(mapping.id)).toMatch(/^[1-9]\d{7}$/);

    const reverse = await readJson(await service.request(`/conferenceMapper?id=${mapping.id}`));
    expect(reverse).toEqual({ id: mapping.id, conference: `elternabend@${MUC}` });

    const again = await readJson(await service.request(`/conferenceMapper?conference=elternabend@${MUC}`));
    expect(again.id).toBe(mapping.id);
  });

  it('makes the mapper PIN a label-less speaker PIN of source mapper that callers can use', async () => {
    const mapping = await readJson(await service.request(`/conferenceMapper?conference=kirchenchor@${MUC}`));
    const resolved = await service.resolver.resolve(String(mapping.id));
    expect(resolved).toMatchObject({ found: true, room: 'kirchenchor', label: null, role: 'speaker', openNow: true });
    const room = await service.directory.getRoom('kirchenchor');
    expect(room.pins).toEqual([expect.objectContaining({ source: 'mapper', label: null })]);
  });

  it('in a room an administrator opened, shows their PIN without label instead of making one, never a personal PIN', async () => {
    const personal = await readJson(await service.request('/api/v1/rooms/rat/pins', jsonInit('POST', { label: 'Herr Schulz' })));
    const listener = await readJson(await service.request('/api/v1/rooms/rat/pins', jsonInit('POST', { role: 'listener' })));
    const publicPin = await readJson(await service.request('/api/v1/rooms/rat/pins', jsonInit('POST', {})));
    expect((await service.request('/api/v1/rooms/rat', jsonInit('PUT', { dialInPublic: true }))).status).toBe(200);
    const mapping = await readJson(await service.request(`/conferenceMapper?conference=rat@${MUC}`));
    expect(String(mapping.id)).toBe(publicPin.pin);
    expect([personal.pin, listener.pin]).not.toContain(String(mapping.id));
  });

  it('decodes and normalises the room the way Jitsi Meet names it', async () => {
    const encoded = await readJson(await service.request(`/conferenceMapper?conference=${encodeURIComponent('B%C3%BCrgerForum')}@${MUC}`));
    const plain = await readJson(await service.request(`/conferenceMapper?conference=${encodeURIComponent('bürgerforum')}@${MUC}`));
    expect(encoded.id).toBe(plain.id);
    expect(plain.conference).toBe(`b%c3%bcrgerforum@${MUC}`);
  });

  it('answers an unknown MUC domain with 404 in the error format and creates nothing', async () => {
    const before = await service.directory.listRooms();
    const response = await service.request('/conferenceMapper?conference=rat@conference.other.example.org');
    expect(response.status).toBe(404);
    expect(await readJson(response)).toEqual({ error: { code: 'unknown-domain', message: expect.any(String) } });
    expect(await service.directory.listRooms()).toEqual(before);
  });

  it('refuses a request with neither parameter, a bad room or a non-numeric id', async () => {
    expect((await service.request('/conferenceMapper')).status).toBe(400);
    expect((await service.request(`/conferenceMapper?conference=a/b@${MUC}`)).status).toBe(422);
    expect((await service.request('/conferenceMapper?id=12ab')).status).toBe(400);
    expect((await service.request('/conferenceMapper?id=1&id=2')).status).toBe(422);
  });

  it('lists the dial-in numbers in the array shape, first one default', async () => {
    const response = await service.request(`/phoneNumberList?conference=rat@${MUC}`);
    expect(await readJson(response)).toEqual([
      { countryCode: 'DE', tollFree: false, formattedNumber: '+49 4136 123456', default: true },
      { countryCode: 'AT', tollFree: false, formattedNumber: '+43 1 234567', default: false },
    ]);
  });

  it('allows the configured origin only', async () => {
    const allowed = await service.request('/phoneNumberList', { headers: { origin: 'https://meet.example.org' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://meet.example.org');
    const other = await service.request('/phoneNumberList', { headers: { origin: 'https://evil.example.org' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await service.request('/conferenceMapper', { method: 'OPTIONS', headers: { origin: 'https://meet.example.org' } });
    expect(preflight.status).toBe(204);
    const api = await service.request('/api/v1/rooms', { headers: { origin: 'https://meet.example.org' } });
    expect(api.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps no info-level log line of a successful lookup, but logs a refused one', async () => {
    const before = service.logs.lines.length;
    expect((await service.request(`/conferenceMapper?conference=protokoll@${MUC}`, { headers: { 'x-request-id': 'lookup-ok' } })).status).toBe(200);
    expect((await service.request('/phoneNumberList', { headers: { 'x-request-id': 'numbers-ok' } })).status).toBe(200);
    const refused = await service.request('/conferenceMapper?id=12ab', { headers: { 'x-request-id': 'lookup-refused' } });
    expect(refused.headers.get('x-request-id')).toBe('lookup-refused');
    const written = service.logs.lines.slice(before).join('\n');
    expect(written).not.toMatch(/lookup-ok|numbers-ok/);
    expect(written).toMatch(/"requestId":"lookup-refused".*"status":400/);
  });

  it('answers HEAD without a body and refuses other methods in the error format', async () => {
    const head = await service.request('/phoneNumberList', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await service.request('/conferenceMapper?id=1', { method: 'POST' });
    expect(post.status).toBe(404);
    expect(await readJson(post)).toEqual({ error: { code: 'not-found', message: expect.any(String) } });
  });

  it('slows down someone guessing PINs through the reverse lookup', async () => {
    const statuses: number[] = [];
    for (let guess = 0; guess < 35; guess++) {
      statuses.push((await service.request(`/conferenceMapper?id=${90000000 + guess}`)).status);
    }
    expect(statuses.slice(0, 30).every((status) => status === 200)).toBe(true);
    expect(statuses.slice(30).every((status) => status === 429)).toBe(true);
  });
});

describe('the mapper with MAPPER_AUTO_CREATE=false', () => {
  const dir = tempDir();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'no-create.sqlite'), { MAPPER_AUTO_CREATE: 'false' });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('answers 404 for a room without a public PIN and creates nothing', async () => {
    const response = await service.request(`/conferenceMapper?conference=rat@${MUC}`);
    expect(response.status).toBe(404);
    expect(await service.directory.listRooms()).toEqual([]);
  });

  it('still shows a PIN the administrator made, once they open the room to dial-in', async () => {
    const pin = await readJson(await service.request('/api/v1/rooms/rat/pins', jsonInit('POST', {})));
    await service.request('/api/v1/rooms/rat', jsonInit('PUT', { dialInPublic: true }));
    expect(await readJson(await service.request(`/conferenceMapper?conference=rat@${MUC}`))).toMatchObject({ id: Number(pin.pin) });
  });
});
