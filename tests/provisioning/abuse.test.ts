import { connect } from 'node:net';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { MUC, TEST_SECRET, hsToken, jsonInit, readJson, startTestService, tempDir, type TestService } from '../support/service';

/**
 * What an attacker tried against the public endpoints (issue: abuse findings), each reproduced
 * here against the real service on loopback.
 */

/**
 * Writes the requests in one go on one socket (HTTP/1.1 pipelining) and counts the answers by
 * status. From 127.0.0.2, the trusted proxy of the limits' service, when headers name a client.
 */
async function pipelined(url: string, paths: string[], headers: Record<string, string> = {}): Promise<Record<number, number>> {
  const { hostname, port } = new URL(url);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const wire = paths.map((path) => `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n${extra}\r\n`).join('');
  return new Promise((resolve, reject) => {
    const localAddress = Object.keys(headers).length > 0 ? '127.0.0.2' : '127.0.0.1';
    const socket = connect({ port: Number(port), host: hostname, localAddress }, () => socket.end(wire));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const counts: Record<number, number> = {};
      for (const match of received.matchAll(/HTTP\/1\.1 (\d{3})/g)) counts[Number(match[1])] = (counts[Number(match[1])] ?? 0) + 1;
      resolve(counts);
    });
  });
}

describe('a password-protected or listen-only room and the public mapper', () => {
  const dir = tempDir();
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'closed.sqlite'));
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('gives no PIN for a room with a password and only admin PINs, and says nothing an unknown room would not', async () => {
    await service.request('/api/v1/rooms/ratgeheim', jsonInit('PUT', { password: '2468' }));
    const labelled = await readJson(await service.request('/api/v1/rooms/ratgeheim/pins', jsonInit('POST', { label: 'Frau Meyer' })));
    const listener = await readJson(await service.request('/api/v1/rooms/ratgeheim/pins', jsonInit('POST', { role: 'listener' })));
    const nextWeek = new Date(Date.now() + 7 * 86_400_000).toISOString();
    await service.request('/api/v1/rooms/ratgeheim/pins', jsonInit('POST', { validFrom: nextWeek }));

    const closed = await service.request(`/conferenceMapper?conference=ratgeheim@${MUC}`);
    expect(closed.status).toBe(404);
    const body = await readJson(closed);
    expect(body).toMatchObject({ id: false, conference: false, error: { code: 'no-pin' } });
    expect((await service.directory.getRoom('ratgeheim')).pins).toHaveLength(3);
    for (const pin of [labelled, listener]) {
      expect(await readJson(await service.request(`/conferenceMapper?id=${pin.pin}`))).toEqual({ id: Number(pin.pin), conference: false });
    }
  });

  it('closes a room the mapper made once an administrator stores a password or makes a PIN, until they open it', async () => {
    const made = await readJson(await service.request(`/conferenceMapper?conference=elternabend@${MUC}`));
    expect(made.id).toEqual(expect.any(Number));
    expect((await readJson(await service.request('/api/v1/rooms/elternabend', { token: jsonInit('GET', {}).token }))).dialInPublic).toBe(true);

    await service.request('/api/v1/rooms/elternabend', jsonInit('PUT', { password: '97531' }));
    expect((await service.request(`/conferenceMapper?conference=elternabend@${MUC}`)).status).toBe(404);
    expect(await readJson(await service.request(`/conferenceMapper?id=${made.id}`))).toEqual({ id: made.id, conference: false });

    await service.request('/api/v1/rooms/elternabend', jsonInit('PUT', { dialInPublic: true }));
    expect((await readJson(await service.request(`/conferenceMapper?conference=elternabend@${MUC}`))).id).toBe(made.id);

    await service.request('/api/v1/rooms/elternabend/pins', jsonInit('POST', { label: 'Kassenwart' }));
    expect((await service.request(`/conferenceMapper?conference=elternabend@${MUC}`)).status).toBe(404);
  });

  it("sends the room's password to Jigasi only for a PIN an administrator made", async () => {
    const mapperPin = await readJson(await service.request(`/conferenceMapper?conference=chor@${MUC}`));
    await service.request('/api/v1/rooms/chor', jsonInit('PUT', { password: '1357' }));
    const adminPin = await readJson(await service.request('/api/v1/rooms/chor/pins', jsonInit('POST', { label: 'Chorleiterin' })));

    expect(await service.resolver.resolve(String(mapperPin.id))).toMatchObject({ found: true, room: 'chor', password: null });
    expect(await service.resolver.resolve(adminPin.pin)).toMatchObject({ found: true, room: 'chor', password: '1357' });
  });
});

describe('pipelined requests and per-address limits', () => {
  const dir = tempDir();
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'limits.sqlite'), { TRUSTED_PROXIES: '127.0.0.2/32', MAPPER_MAX_ROOMS: '40' });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('answers at most 30 of 500 PIN guesses pipelined on one socket', async () => {
    const guesses = Array.from({ length: 500 }, (_, index) => `/conferenceMapper?id=${48_000_000 + index}`);
    const counts = await pipelined(service.url, guesses);
    expect(counts[200]).toBe(30);
    expect(counts[429]).toBe(470);
  });

  it('makes at most 30 rooms for 500 room names pipelined on one socket', async () => {
    const before = (await service.directory.listRooms()).length;
    const names = Array.from({ length: 500 }, (_, index) => `/conferenceMapper?conference=flut${index}@${MUC}`);
    const counts = await pipelined(service.url, names, { 'X-Forwarded-For': '198.51.100.7' });
    expect(counts[200]).toBe(30);
    expect((await service.directory.listRooms()).length - before).toBe(30);
  });

  /** One mapper lookup on its own connection, from `localAddress`, with extra header lines. */
  const lookupFrom = async (localAddress: string, headerLines: string) =>
    new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(service.url);
      const socket = connect({ host: hostname, port: Number(port), localAddress }, () =>
        socket.end(`GET /conferenceMapper?id=39000001 HTTP/1.1\r\nHost: x\r\n${headerLines}Connection: close\r\n\r\n`),
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve(Number(/HTTP\/1\.1 (\d{3})/.exec(received)?.[1])));
    });

  it("believes X-Forwarded-For only from a trusted proxy, and counts an IPv6 client's whole /64", async () => {
    const viaProxy = async (forwardedFor: string, localAddress = '127.0.0.2') => lookupFrom(localAddress, `X-Forwarded-For: ${forwardedFor}\r\n`);
    // 30 misses from addresses of one /64 use up its budget; another /64 still has its own.
    for (let index = 0; index < 30; index++) expect(await viaProxy(`2001:db8:a:b::${index.toString(16)}, 127.0.0.2`)).toBe(200);
    expect(await viaProxy('2001:db8:a:b:ffff::1')).toBe(429);
    expect(await viaProxy('2001:db8:a:c::1')).toBe(200);
    // From a peer that is not a trusted proxy the header is ignored: the peer itself is the client.
    expect(await viaProxy('2001:db8:a:d::1', '127.0.0.1')).toBe(429);
  });

  it('reads the client from Forwarded (RFC 7239) too: quoted IPv6 with a port, IPv4 with a port, the trusted proxy skipped', async () => {
    const viaProxy = async (forwarded: string) => lookupFrom('127.0.0.2', `Forwarded: ${forwarded}\r\n`);
    for (let index = 0; index < 30; index++) expect(await viaProxy(`for="[2001:db8:f:1::${index.toString(16)}]:4711";proto=https, for=127.0.0.2`)).toBe(200);
    expect(await viaProxy('for="[2001:db8:f:1::ff]"')).toBe(429);
    for (let index = 0; index < 30; index++) expect(await viaProxy(`for=198.51.100.44:${5000 + index}`)).toBe(200);
    expect(await viaProxy('For=198.51.100.44')).toBe(429);
    expect(await viaProxy('for=198.51.100.45')).toBe(200);
  });

  it('closes connections past 32 from one address, but not those of a trusted proxy', async () => {
    const { hostname, port } = new URL(service.url);
    const open = async (localAddress: string) =>
      new Promise<{ closedEarly: () => boolean; end: () => void }>((resolve) => {
        let closed = false;
        const socket = connect({ host: hostname, port: Number(port), localAddress }, () => resolve({ closedEarly: () => closed, end: () => socket.destroy() }));
        socket.on('close', () => (closed = true));
        socket.on('error', () => undefined);
      });
    const fromOne = await Promise.all(Array.from({ length: 40 }, async () => open('127.0.0.3')));
    const fromProxy = await Promise.all(Array.from({ length: 40 }, async () => open('127.0.0.2')));
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(fromOne.filter((connection) => connection.closedEarly())).toHaveLength(8);
    expect(fromProxy.filter((connection) => connection.closedEarly())).toHaveLength(0);
    expect((await service.request('/healthz')).status).toBe(200);
    for (const connection of [...fromOne, ...fromProxy]) connection.end();
  });

  it('stops making rooms at MAPPER_MAX_ROOMS, with 429 in the error format', async () => {
    const rooms = async () => (await service.directory.listRooms()).filter((room) => room.createdBy === 'mapper').length;
    for (let client = 1; (await rooms()) < 40; client++) {
      await pipelined(service.url, Array.from({ length: 30 }, (_, index) => `/conferenceMapper?conference=c${client}r${index}@${MUC}`), { 'X-Forwarded-For': `203.0.113.${client}` });
    }
    const refused = await pipelined(service.url, [`/conferenceMapper?conference=noch-einer@${MUC}`], { 'X-Forwarded-For': '203.0.113.99' });
    expect(refused).toEqual({ 429: 1 });
    const answer = await service.request(`/conferenceMapper?conference=noch-einer@${MUC}`);
    expect(await readJson(answer)).toEqual({ error: { code: 'mapper-full', message: expect.stringContaining('MAPPER_MAX_ROOMS') } });
    expect(await rooms()).toBe(40);
  });
});

describe('the mapper over all clients in an hour', () => {
  const dir = tempDir();
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'hourly.sqlite'), { TRUSTED_PROXIES: '127.0.0.2/32' });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('makes at most 500 rooms an hour however many addresses ask, then answers 429', async () => {
    const counts: Record<number, number> = {};
    for (let client = 1; client <= 18; client++) {
      const answers = await pipelined(service.url, Array.from({ length: 30 }, (_, index) => `/conferenceMapper?conference=h${client}r${index}@${MUC}`), { 'X-Forwarded-For': `203.0.113.${client}` });
      for (const [status, count] of Object.entries(answers)) counts[Number(status)] = (counts[Number(status)] ?? 0) + count;
    }
    expect(counts).toEqual({ 200: 500, 429: 40 });
    expect((await service.directory.listRooms()).filter((room) => room.createdBy === 'mapper')).toHaveLength(500);
  });
});

describe('smaller findings', () => {
  const dir = tempDir();
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'small.sqlite'));
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  it('refuses a lone UTF-16 surrogate with 422 and stores nothing', async () => {
    const raw = async (body: string) => service.request('/api/v1/rooms/kasse', { ...jsonInit('PUT', {}), body });
    const refused = await raw('{"password":"\\udfff"}');
    expect(refused.status).toBe(422);
    expect(await readJson(refused)).toMatchObject({ error: { code: 'invalid', message: expect.stringContaining('surrogate') } });
    expect(await service.directory.listRooms()).toEqual([]);
    expect((await raw('{"title":"Kasse \\ud83d\\ude00"}')).status).toBe(201);
    const signIn = await service.request('/api/v1/session', { ...jsonInit('POST', {}), body: '{"name":"kasse","password":"geheim\\udfff"}' });
    expect(signIn.status).toBe(422);
    expect(await readJson(signIn)).toMatchObject({ error: { message: expect.stringContaining('surrogate') } });
  });

  it('takes the Bearer scheme in any case', async () => {
    const token = hsToken('dialin:read');
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      expect((await service.request('/api/v1/rooms', { headers: { authorization: `${scheme} ${token}` } })).status).toBe(200);
    }
  });

  it('clears startMuted and dialInPublic with null, back to their defaults', async () => {
    await service.request('/api/v1/rooms/chor', jsonInit('PUT', { startMuted: true, dialInPublic: false }));
    const cleared = await service.request('/api/v1/rooms/chor', jsonInit('PUT', { startMuted: null, dialInPublic: null }));
    expect(cleared.status).toBe(200);
    expect(await readJson(cleared)).toMatchObject({ startMuted: false, dialInPublic: true });
    await service.request('/api/v1/rooms/chor/pins', jsonInit('POST', { label: 'Kantorin' }));
    expect(await readJson(await service.request('/api/v1/rooms/chor', jsonInit('PUT', { dialInPublic: null })))).toMatchObject({ dialInPublic: false });
  });

  it('refuses a token that lives longer than JWT_MAX_TTL, carries no iat, or was issued in the future', async () => {
    const lasting = hsToken('dialin:read', { expiresIn: '91d' });
    const noIat = jwt.sign({ scope: 'dialin:read', exp: Math.floor(Date.now() / 1000) + 600 }, TEST_SECRET, { algorithm: 'HS256', audience: 'dialin-api', noTimestamp: true });
    // 89 days "long", but issued a year from now: it would work for more than a year.
    const inAYear = Math.floor(Date.now() / 1000) + 365 * 86_400;
    const fromTheFuture = jwt.sign({ scope: 'dialin:read', iat: inAYear, exp: inAYear + 89 * 86_400 }, TEST_SECRET, { algorithm: 'HS256', audience: 'dialin-api' });
    for (const token of [lasting, noIat, fromTheFuture]) {
      const response = await service.request('/api/v1/rooms', { token });
      expect(response.status).toBe(401);
    }
    expect(await readJson(await service.request('/api/v1/rooms', { token: fromTheFuture }))).toMatchObject({ error: { message: expect.stringContaining('issued in the future') } });
    expect((await service.request('/api/v1/rooms', { token: hsToken('dialin:read', { expiresIn: '90d' }) })).status).toBe(200);
  });

  it('refuses room names that look like another: mixed scripts, invisible characters', async () => {
    for (const name of ['r\u0430tgeheim', 'ratgeheim\u034f', 'rat\ufe0fgeheim', '\u3164ratgeheim']) {
      const response = await service.request(`/api/v1/rooms/${encodeURIComponent(name)}`, jsonInit('PUT', {}));
      expect(response.status).toBe(422);
      expect((await service.request(`/conferenceMapper?conference=${encodeURIComponent(name)}@${MUC}`)).status).toBe(422);
    }
  });
});
