import { join } from 'node:path';
import { adminToken, jsonInit, readJson, readToken, startTestService, tempDir, type TestService } from '../support/service';

/** An administrator manages rooms and PINs; what they change takes effect for callers at once. */
describe('rooms and PINs through the admin API', () => {
  const dir = tempDir();
  const dbPath = join(dir.path, 'directory.sqlite');
  let service: TestService;
  const token = adminToken();

  beforeAll(async () => {
    service = await startTestService(dbPath);
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('creates a room, updates it, and never shows its password', async () => {
    const created = await service.request('/api/v1/rooms/Bauausschuss', jsonInit('PUT', { title: 'Bauausschuss', password: 'geheim42' }));
    expect(created.status).toBe(201);
    expect(await readJson(created)).toEqual({
      name: 'bauausschuss',
      title: 'Bauausschuss',
      hasPassword: true,
      startMuted: false,
      listeners: 'separate',
      dialInPublic: false,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.any(String),
    });
    const updated = await service.request('/api/v1/rooms/bauausschuss', jsonInit('PUT', { title: 'Bau- und Umweltausschuss' }));
    expect(updated.status).toBe(200);
    const room = await readJson(await service.request('/api/v1/rooms/bauausschuss', { token: readToken() }));
    expect(room).toMatchObject({ title: 'Bau- und Umweltausschuss', hasPassword: true, pins: [] });
    expect(JSON.stringify(room)).not.toContain('geheim42');

    await service.request('/api/v1/rooms/bauausschuss', jsonInit('PUT', { password: null }));
    expect(await readJson(await service.request('/api/v1/rooms/bauausschuss', { token }))).toMatchObject({ hasPassword: false, title: 'Bau- und Umweltausschuss' });

    await service.request('/api/v1/rooms/bauausschuss', jsonInit('PUT', { startMuted: true }));
    expect(await readJson(await service.request('/api/v1/rooms/bauausschuss', { token }))).toMatchObject({ startMuted: true, title: 'Bau- und Umweltausschuss' });
    expect((await service.request('/api/v1/rooms/bauausschuss', jsonInit('PUT', { startMuted: 'yes' }))).status).toBe(422);
    expect(await readJson(await service.request('/api/v1/rooms/bauausschuss', jsonInit('PUT', { listeners: 'shared' })))).toMatchObject({ listeners: 'shared' });
    expect((await service.request('/api/v1/rooms/bauausschuss', jsonInit('PUT', { listeners: 'everyone' }))).status).toBe(422);
    expect(await readJson(await service.request('/api/v1/rooms/bauausschuss', jsonInit('PUT', { listeners: null })))).toMatchObject({ listeners: 'separate' });
  });

  it('creates PINs with the documented shape and defaults', async () => {
    const response = await service.request('/api/v1/rooms/gemeinderat/pins', jsonInit('POST', { label: 'Frau Meyer' }));
    expect(response.status).toBe(201);
    const pin = await readJson(response);
    expect(pin).toEqual({
      id: expect.stringMatching(/^pin_[A-Za-z0-9_-]{12}$/),
      room: 'gemeinderat',
      pin: expect.stringMatching(/^[1-9]\d{7}$/),
      label: 'Frau Meyer',
      role: 'speaker',
      validFrom: null,
      validUntil: null,
      source: 'admin',
      createdAt: expect.any(String),
      lastUsedAt: null,
    });
    const listener = await readJson(
      await service.request('/api/v1/rooms/gemeinderat/pins', jsonInit('POST', { role: 'listener', pin: '48213769', validFrom: '2030-05-01T18:00:00+02:00' })),
    );
    expect(listener).toMatchObject({ role: 'listener', pin: '48213769', validFrom: '2030-05-01T16:00:00.000Z' });
    const list = await readJson(await service.request('/api/v1/rooms/gemeinderat/pins', { token }));
    expect(list.items.map((item: { id: string }) => item.id)).toEqual([pin.id, listener.id]);
    const rooms = await readJson(await service.request('/api/v1/rooms', { token }));
    expect(rooms.items).toContainEqual(expect.objectContaining({ name: 'gemeinderat', pinCount: 2 }));
  });

  it('changes a PIN and refuses a change that makes its validity impossible', async () => {
    const pin = await readJson(await service.request('/api/v1/rooms/sportverein/pins', jsonInit('POST', { validUntil: '2031-01-01T00:00:00Z' })));
    const patched = await service.request(`/api/v1/pins/${pin.id}`, jsonInit('PATCH', { label: 'Trainer', role: 'listener', validUntil: null }));
    expect(patched.status).toBe(200);
    expect(await readJson(patched)).toMatchObject({ label: 'Trainer', role: 'listener', validUntil: null, pin: pin.pin });
    await service.request(`/api/v1/pins/${pin.id}`, jsonInit('PATCH', { validUntil: '2031-01-01T00:00:00Z' }));
    const refused = await service.request(`/api/v1/pins/${pin.id}`, jsonInit('PATCH', { validFrom: '2032-01-01T00:00:00Z' }));
    expect(refused.status).toBe(422);
    expect((await service.resolver.resolve(pin.pin)).found).toBe(true);
  });

  it('stops a deleted PIN from resolving at once', async () => {
    const pin = await readJson(await service.request('/api/v1/rooms/chor/pins', jsonInit('POST', {})));
    expect(await service.resolver.resolve(pin.pin)).toMatchObject({ found: true, room: 'chor', openNow: true });
    expect((await service.request(`/api/v1/pins/${pin.id}`, { method: 'DELETE', token })).status).toBe(204);
    expect(await service.resolver.resolve(pin.pin)).toEqual({ found: false });
    expect(await readJson(await service.request(`/conferenceMapper?id=${pin.pin}`))).toEqual({ id: Number(pin.pin), conference: false });
  });

  it("stops a deleted room's PINs at once", async () => {
    const pin = await readJson(await service.request('/api/v1/rooms/feuerwehr/pins', jsonInit('POST', {})));
    expect((await service.request('/api/v1/rooms/feuerwehr', { method: 'DELETE', token })).status).toBe(204);
    expect(await service.resolver.resolve(pin.pin)).toEqual({ found: false });
    expect((await service.request('/api/v1/rooms/feuerwehr', { token })).status).toBe(404);
  });

  it('stops an expired PIN from being found by Jitsi and lets its digits be reused', async () => {
    const pin = await readJson(await service.request('/api/v1/rooms/kita/pins', jsonInit('POST', { pin: '59371824' })));
    await service.request(`/api/v1/pins/${pin.id}`, jsonInit('PATCH', { validFrom: '2020-01-01T00:00:00Z', validUntil: '2020-01-02T00:00:00Z' }));
    expect(await service.resolver.resolve('59371824')).toMatchObject({ found: true, openNow: false });
    expect(await readJson(await service.request('/conferenceMapper?id=59371824'))).toEqual({ id: 59371824, conference: false });
    const reused = await service.request('/api/v1/rooms/elternbeirat/pins', jsonInit('POST', { pin: '59371824' }));
    expect(reused.status).toBe(201);
    expect(await service.resolver.resolve('59371824')).toMatchObject({ found: true, room: 'elternbeirat', openNow: true });
  });

  it('records every write in the audit log, newest first, paged, without secrets', async () => {
    const first = await readJson(await service.request('/api/v1/audit?limit=3', { token }));
    expect(first.items).toHaveLength(3);
    expect(first.items[0]).toEqual({ at: expect.any(String), sub: 'tester', action: 'pin.create', target: expect.stringMatching(/ in elternbeirat$/) });
    expect(first.next).toEqual(expect.any(String));
    const second = await readJson(await service.request(`/api/v1/audit?limit=3&after=${first.next}`, { token }));
    expect(second.items).toHaveLength(3);
    expect(Date.parse(second.items[0].at)).toBeLessThanOrEqual(Date.parse(first.items[2].at));
    const everything = await readJson(await service.request('/api/v1/audit?limit=500', { token }));
    expect(everything.next).toBeNull();
    const actions = everything.items.map((item: { action: string }) => item.action);
    expect(actions).toEqual(expect.arrayContaining(['room.create', 'room.update', 'room.delete', 'pin.create', 'pin.update', 'pin.delete']));
    expect(JSON.stringify(everything)).not.toMatch(/geheim42|48213769|59371824/);
  });

  it('keeps rooms and PINs across a restart on the same file', async () => {
    const before = await readJson(await service.request('/api/v1/rooms/gemeinderat/pins', { token }));
    await service.stop();
    service = await startTestService(dbPath);
    const after = await readJson(await service.request('/api/v1/rooms/gemeinderat/pins', { token }));
    expect(after).toEqual(before);
    expect(await service.resolver.resolve('48213769')).toMatchObject({ found: true, room: 'gemeinderat', role: 'listener' });
  });
});
