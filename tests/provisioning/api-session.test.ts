import { join } from 'node:path';
import { runCli } from '../../app/cli';
import { Accounts, SESSION_LIMITS, hashPassword } from '../../provisioning/accounts';
import { SqliteStore } from '../../provisioning/store/sqlite';
import { SECONDS_BY_DESIGN_MS, readJson, readToken, startTestService, tempDir, testEnv, type TestService } from '../support/service';

/** The admin console's sign-in (SPEC §6): accounts made with `dialin user`, a session cookie, roles, CSRF. */

const PASSWORD = 'Sitzungsdienst-2026';

function cli(dbPath: string, args: string[], stdin = '') {
  const output = { out: '', err: '' };
  const io = { out: (text: string) => void (output.out += text), err: (text: string) => void (output.err += text), input: async () => stdin };
  return { output, run: async () => runCli(['user', ...args], testEnv({ DB_PATH: dbPath }), io) };
}

describe('dialin user', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('adds an account with a password from stdin, or makes one and prints it once', async () => {
    const db = join(dir.path, 'users.sqlite');
    const given = cli(db, ['add', 'kaemmerei', '--role', 'clerk', '--password-stdin'], `${PASSWORD}\n`);
    expect(await given.run()).toBe(0);
    expect(given.output.out).not.toContain(PASSWORD);
    const made = cli(db, ['add', 'it-admin', '--role', 'admin']);
    expect(await made.run()).toBe(0);
    expect(made.output.out).toMatch(/^password \(shown once\): [a-z2-9]{5}(-[a-z2-9]{5}){3}$/m);
    const store = new SqliteStore(db);
    expect(await store.getAccount('kaemmerei')).toMatchObject({ role: 'clerk', passwordHash: expect.stringMatching(/^scrypt\$/) });
    expect(JSON.stringify(await store.getAccount('kaemmerei'))).not.toContain(PASSWORD);
    await store.close();
  });

  it.each([
    [['add', 'kaemmerei', '--role', 'mayor'], '', 2, /--role must be admin, clerk or viewer/],
    [['add', 'kaemmerei', '--role', 'clerk', '--password-stdin'], 'kurz\n', 2, /at least 12 characters/],
    [['add', 'kämmerei ost', '--role', 'clerk'], '', 2, /a name has/],
    [['add', 'doppelt', '--role', 'viewer', '--password-stdin'], `${PASSWORD}\n`, 0, /added "doppelt"/],
    [['add', 'doppelt', '--role', 'viewer', '--password-stdin'], `${PASSWORD}\n`, 1, /exists already/],
    [['passwd', 'niemand', '--password-stdin'], `${PASSWORD}\n`, 1, /no account "niemand"/],
    [['remove', 'niemand'], '', 1, /no account "niemand"/],
    [['rename', 'x'], '', 2, /say add, passwd or remove/],
  ])('dialin user %j answers %#: a clear message and the right exit code', async (args, stdin, code, message) => {
    const command = cli(join(dir.path, 'errors.sqlite'), args, stdin);
    expect(await command.run()).toBe(code);
    expect(code === 0 ? command.output.out : command.output.err).toMatch(message);
  });
});

describe('signing in to the admin console', () => {
  const dir = tempDir();
  const db = join(dir.path, 'session.sqlite');
  let service: TestService;

  beforeAll(async () => {
    for (const [name, role] of [
      ['kaemmerei', 'clerk'],
      ['presse', 'viewer'],
      ['gesperrt', 'admin'],
    ]) {
      expect(await cli(db, ['add', name!, '--role', role!, '--password-stdin'], PASSWORD).run()).toBe(0);
    }
    service = await startTestService(db, { COOKIE_SECURE: 'false' });
  });
  afterAll(async () => {
    await service.stop();
    dir.cleanup();
  });

  const signIn = async (name: string, password = PASSWORD) =>
    fetch(`${service.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  const cookieOf = (response: Response) => response.headers.get('set-cookie')!.split(';')[0]!;
  const asAccount = async (cookie: string, path: string, init: RequestInit & { origin?: string } = {}) =>
    fetch(`${service.url}${path}`, {
      ...init,
      headers: { cookie, 'content-type': 'application/json', ...(init.origin ? { origin: init.origin } : {}) },
    });

  it('refuses a wrong password without a cookie, and sets an httpOnly SameSite=Strict cookie for the right one', async () => {
    const wrong = await signIn('kaemmerei', 'falsches-kennwort');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect((await signIn('unbekannt')).status).toBe(401);

    const right = await signIn('kaemmerei');
    expect(right.status).toBe(204);
    const cookie = right.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^dialin_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(await readJson(await asAccount(cookieOf(right), '/api/v1/session'))).toEqual({ name: 'kaemmerei', role: 'clerk' });
    expect(service.logs.text).not.toContain(PASSWORD);
    expect(service.logs.text).not.toContain(cookieOf(right).split('=')[1]);
  });

  it('lets a clerk change rooms from the console itself, audited under the account, and refuses the same change from another origin', async () => {
    const cookie = cookieOf(await signIn('kaemmerei'));
    const body = JSON.stringify({ password: '2468' });
    const foreign = await asAccount(cookie, '/api/v1/rooms/bauausschuss', { method: 'PUT', body, origin: 'https://evil.example.org' });
    expect(foreign.status).toBe(403);
    expect((await asAccount(cookie, '/api/v1/rooms/bauausschuss', { method: 'PUT', body })).status).toBe(403);
    expect((await asAccount(cookie, '/api/v1/rooms/bauausschuss')).status).toBe(404);

    // A sandboxed frame or a privacy setting sends "Origin: null".
    expect((await asAccount(cookie, '/api/v1/rooms/bauausschuss', { method: 'PUT', body, origin: 'null' })).status).toBe(403);
    // The session cookie among others, as a browser sends them.
    const amongOthers = `theme=dark; ${cookie}; lang=de`;
    const own = await asAccount(amongOthers, '/api/v1/rooms/bauausschuss', { method: 'PUT', body, origin: service.url });
    expect(own.status).toBe(201);
    const audit = await readJson(await asAccount(cookie, '/api/v1/audit'));
    expect(audit.items[0]).toMatchObject({ sub: 'user:kaemmerei', action: 'room.create', target: 'bauausschuss' });
  });

  it('lets a viewer read but not write', async () => {
    const cookie = cookieOf(await signIn('presse'));
    expect((await asAccount(cookie, '/api/v1/rooms')).status).toBe(200);
    const write = await asAccount(cookie, '/api/v1/rooms/presseraum', { method: 'PUT', body: '{}', origin: service.url });
    expect(write.status).toBe(403);
    expect((await readJson(write)).error.message).toMatch(/role viewer/);
    expect((await asAccount(cookie, '/api/v1/rooms/presseraum')).status).toBe(404);
  });

  it('locks an account after 5 wrong passwords in 15 minutes, also for the right one', async () => {
    for (let attempt = 0; attempt < SESSION_LIMITS.failuresPerAccount; attempt++) expect((await signIn('gesperrt', `falsch-${attempt}-xxxxxx`)).status).toBe(401);
    const locked = await signIn('gesperrt');
    expect(locked.status).toBe(429);
    expect(locked.headers.get('set-cookie')).toBeNull();
    expect((await signIn('presse')).status).toBe(204);
  }, SECONDS_BY_DESIGN_MS);

  it('ends the session on sign-out, and all sessions of an account when its password changes', async () => {
    const first = cookieOf(await signIn('kaemmerei'));
    const out = await asAccount(first, '/api/v1/session', { method: 'DELETE', origin: service.url });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^dialin_session=; .*Max-Age=0/);
    expect((await asAccount(first, '/api/v1/rooms')).status).toBe(401);

    const second = cookieOf(await signIn('kaemmerei'));
    expect((await asAccount(second, '/api/v1/rooms')).status).toBe(200);
    expect(await cli(db, ['passwd', 'kaemmerei', '--password-stdin'], 'Neues-Kennwort-2027').run()).toBe(0);
    expect((await asAccount(second, '/api/v1/rooms')).status).toBe(401);
    expect((await signIn('kaemmerei', 'Neues-Kennwort-2027')).status).toBe(204);
  });

  it('keeps the Bearer token working beside the cookie', async () => {
    const response = await service.request('/api/v1/rooms', { token: readToken() });
    expect(response.status).toBe(200);
  });
});

describe('a session', () => {
  it('ends after SESSION_IDLE_MINUTES without a request, and lives on while used', async () => {
    const dir = tempDir();
    const store = new SqliteStore(join(dir.path, 'idle.sqlite'));
    let clock = Date.UTC(2026, 10, 29, 18, 0);
    const accounts = new Accounts(store, { idleMs: 30 * 60_000, ...SESSION_LIMITS }, () => clock);
    await store.insertAccount({ name: 'kaemmerei', role: 'clerk', passwordHash: await hashPassword(PASSWORD), createdAt: clock });
    const signedIn = await accounts.signIn('kaemmerei', PASSWORD, '192.0.2.7');
    if (!signedIn.ok) throw new Error('not signed in');
    for (let minute = 0; minute < 3; minute++) {
      clock += 25 * 60_000;
      expect(await accounts.session(signedIn.token)).toEqual({ name: 'kaemmerei', role: 'clerk' });
    }
    clock += 31 * 60_000;
    expect(await accounts.session(signedIn.token)).toBeUndefined();
    clock += 60_000;
    expect(await accounts.session(signedIn.token)).toBeUndefined();
    await store.close();
    dir.cleanup();
  });
});
