import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { TEST_SECRET, hsToken, jsonInit, readJson, startTestService, tempDir, until, type TestService } from '../support/service';

/** The admin API refuses every token it should refuse, and says why with the right status. */
describe('admin API authentication (HS256 configured)', () => {
  const dir = tempDir();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'auth.sqlite'), { JWT_ISSUER: 'https://id.example.org' });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  const withIssuer = { issuer: 'https://id.example.org' };
  const unsigned = (payload: object) =>
    `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;

  const cases: Array<[string, () => string | undefined, number]> = [
    ['no token', () => undefined, 401],
    ['a malformed token', () => 'not-a-jwt', 401],
    ['an expired token', () => hsToken('dialin:admin', { ...withIssuer, expiresIn: -60 }), 401],
    ['a token without exp', () => jwt.sign({ scope: 'dialin:admin', aud: 'dialin-api', iss: 'https://id.example.org' }, TEST_SECRET), 401],
    ['the wrong audience', () => hsToken('dialin:admin', { ...withIssuer, audience: 'other-api' }), 401],
    ['the wrong issuer', () => hsToken('dialin:admin', { issuer: 'https://evil.example.org' }), 401],
    ['no issuer although one is configured', () => hsToken('dialin:admin'), 401],
    ['the wrong secret', () => hsToken('dialin:admin', withIssuer, 'another-secret-that-is-long-enough-xyz'), 401],
    [
      'alg: none',
      () => unsigned({ scope: 'dialin:admin', aud: 'dialin-api', iss: 'https://id.example.org', exp: Math.floor(Date.now() / 1000) + 600 }),
      401,
    ],
    ['the read scope on a write route', () => hsToken('dialin:read', withIssuer), 403],
    ['an empty scope', () => hsToken('', withIssuer), 403],
    ['no scope claim at all', () => jwt.sign({}, TEST_SECRET, { algorithm: 'HS256', audience: 'dialin-api', expiresIn: 600, ...withIssuer }), 403],
    ['a scope claim that is a number', () => jwt.sign({ scope: 7 }, TEST_SECRET, { algorithm: 'HS256', audience: 'dialin-api', expiresIn: 600, ...withIssuer }), 403],
  ];

  it.each(cases)('refuses %s', async (_name, token, status) => {
    const response = await service.request('/api/v1/rooms/ratssitzung', jsonInit('PUT', { title: 'Rat' }, token() ?? ''));
    expect(response.status).toBe(status);
    const body = await readJson(response);
    expect(body.error.code).toBe(status === 401 ? 'unauthorized' : 'forbidden');
    expect(JSON.stringify(body)).not.toContain(TEST_SECRET);
    expect((await service.directory.listRooms()).length).toBe(0);
  });

  it("says that the audience is wrong when it is (Keycloak's default is \"account\"), in the answer and the log", async () => {
    const response = await service.request('/api/v1/rooms', { token: hsToken('dialin:read', { ...withIssuer, audience: 'account' }) });
    expect(response.status).toBe(401);
    const message = (await readJson(response)).error.message as string;
    expect(message).toBe('the token\'s audience (aud) is not "dialin-api": have the identity provider add it (Keycloak: an audience mapper on the client), or set JWT_AUDIENCE');
    await until(() => service.logs.text.includes('audience mapper'), 'the log line');
    expect(service.logs.lines.find((line) => line.includes('audience mapper'))).toMatch(/"level":40.*"status":401/);
  });

  it('lets the read scope read, and the admin scope read and write', async () => {
    const read = hsToken('dialin:read', withIssuer);
    const admin = hsToken('dialin:admin', withIssuer);
    expect((await service.request('/api/v1/rooms', { token: read })).status).toBe(200);
    expect((await service.request('/api/v1/rooms', { token: admin })).status).toBe(200);
    expect((await service.request('/api/v1/rooms/ratssitzung', jsonInit('PUT', { title: 'Rat' }, admin))).status).toBe(201);
  });

  it.each([
    ['an expired token', () => hsToken('dialin:read', { ...withIssuer, expiresIn: -60 }), 'the token has expired'],
    ['the wrong issuer', () => hsToken('dialin:read', { issuer: 'https://evil.example.org' }), 'the token\'s issuer (iss) is not "https://id.example.org" (JWT_ISSUER)'],
    ['a token living past JWT_MAX_TTL', () => hsToken('dialin:read', { ...withIssuer, expiresIn: 91 * 86_400 }), 'the token lives longer than this service allows (JWT_MAX_TTL, 90 days)'],
    ['a token signed with another secret', () => hsToken('dialin:read', withIssuer, 'another-secret-that-is-long-enough-xyz'), 'the token is not valid for this service'],
    ['a token with junk after it', () => `${hsToken('dialin:read', withIssuer)} extra`, 'an Authorization: Bearer <token> header is required'],
  ])('says what is wrong with %s', async (_case, token, message) => {
    const response = await service.request('/api/v1/rooms', { token: token() });
    expect(response.status).toBe(401);
    expect((await readJson(response)).error.message).toBe(message);
  });

  it('takes the Bearer scheme in any case and with more than one space, and only at the start', async () => {
    const token = hsToken('dialin:read', withIssuer);
    for (const [header, status] of [
      [`bearer ${token}`, 200],
      [`Bearer   ${token}`, 200],
      [`xBearer ${token}`, 401],
    ] as const) {
      expect((await service.request('/api/v1/rooms', { headers: { authorization: header } })).status).toBe(status);
    }
  });

  it('audits a token without a subject as "unknown"', async () => {
    const token = jwt.sign({ scope: 'dialin:admin' }, TEST_SECRET, { algorithm: 'HS256', audience: 'dialin-api', expiresIn: 600, ...withIssuer });
    expect((await service.request('/api/v1/rooms/ohne-sub', jsonInit('PUT', {}, token))).status).toBe(201);
    expect((await service.directory.listAudit(1))[0]).toMatchObject({ sub: 'unknown', target: 'ohne-sub' });
    const emptySubject = jwt.sign({ scope: 'dialin:admin', sub: '' }, TEST_SECRET, { algorithm: 'HS256', audience: 'dialin-api', expiresIn: 600, ...withIssuer });
    expect((await service.request('/api/v1/rooms/leeres-sub', jsonInit('PUT', {}, emptySubject))).status).toBe(201);
    expect((await service.directory.listAudit(1))[0]).toMatchObject({ sub: 'unknown', target: 'leeres-sub' });
  });

  it('decides by the Bearer token when a request also carries a session cookie', async () => {
    const response = await service.request('/api/v1/rooms', { token: hsToken('dialin:read', withIssuer), headers: { cookie: 'theme=dark; dialin_session=ended-long-ago' } });
    expect(response.status).toBe(200);
  });

  it('leaves the public endpoints open', async () => {
    expect((await service.request('/healthz')).status).toBe(200);
    expect((await service.request('/phoneNumberList')).status).toBe(200);
    expect((await service.request('/api/v1/openapi.json')).status).toBe(200);
  });
});

describe('admin API authentication (RS256 configured)', () => {
  const dir = tempDir();
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(join(dir.path, 'rs.sqlite'), { JWT_SECRET: '', JWT_PUBLIC_KEY: publicPem });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  const claims = { scope: 'dialin:admin', aud: 'dialin-api', exp: Math.floor(Date.now() / 1000) + 600, sub: 'idp-user' };

  it('accepts a token signed by the identity provider', async () => {
    const token = jwt.sign(claims, privateKey, { algorithm: 'RS256' });
    expect((await service.request('/api/v1/rooms', { token })).status).toBe(200);
  });

  it('reads the scopes from an "scp" claim, as a list or a string, when there is no "scope" (Azure AD, some Keycloak setups)', async () => {
    const { scope: _scope, ...withoutScope } = claims;
    for (const scp of [['dialin:read'], 'dialin:read', [7, 'dialin:read']]) {
      const token = jwt.sign({ ...withoutScope, scp }, privateKey, { algorithm: 'RS256' });
      expect((await service.request('/api/v1/rooms', { token })).status).toBe(200);
      expect((await service.request('/api/v1/rooms/scp', jsonInit('PUT', {}, token))).status).toBe(403);
    }
  });

  it('refuses an HS256 token signed with the public key as secret (key confusion)', async () => {
    const forged = [
      Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url'),
      Buffer.from(JSON.stringify(claims)).toString('base64url'),
    ].join('.');
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha256', publicPem).update(forged).digest('base64url');
    const response = await service.request('/api/v1/rooms', { token: `${forged}.${signature}` });
    expect(response.status).toBe(401);
  });

  it('refuses an ES256 token from another key', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = jwt.sign(claims, other.privateKey, { algorithm: 'ES256' });
    expect((await service.request('/api/v1/rooms', { token })).status).toBe(401);
  });
});
