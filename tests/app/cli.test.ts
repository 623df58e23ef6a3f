import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { runCli } from '../../app/cli';
import { TEST_SECRET, jsonInit, startTestService, tempDir, testEnv } from '../support/service';

function capture(stdin = '') {
  const output = { out: '', err: '' };
  return { output, io: { out: (text: string) => void (output.out += text), err: (text: string) => void (output.err += text), input: async () => stdin } };
}

describe('npx dialin', () => {
  it('mints an admin token the API accepts', async () => {
    const { output, io } = capture();
    expect(await runCli(['token', '--scope', 'dialin:admin', '--ttl', '8h', '--sub', 'kaemmerei'], testEnv(), io)).toBe(0);
    const token = output.out.trim();
    const claims = jwt.verify(token, TEST_SECRET, { algorithms: ['HS256'], audience: 'dialin-api' }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ scope: 'dialin:admin', sub: 'kaemmerei' });
    expect(claims.exp! - claims.iat!).toBe(8 * 3600);

    const dir = tempDir();
    const service = await startTestService(join(dir.path, 'cli.sqlite'));
    try {
      const response = await service.request('/api/v1/rooms/rat', jsonInit('PUT', { title: 'Rat' }, token));
      expect(response.status).toBe(201);
      const audit = await service.directory.listAudit(1);
      expect(audit[0]).toMatchObject({ sub: 'kaemmerei', action: 'room.create' });
    } finally {
      await service.stop();
      dir.cleanup();
    }
  });

  it('refuses to mint without JWT_SECRET', async () => {
    const { output, io } = capture();
    expect(await runCli(['token', '--scope', 'dialin:admin'], { JWT_SECRET: '' }, io)).toBe(1);
    expect(output.out).toBe('');
    expect(output.err).toMatch(/JWT_SECRET/);
  });

  it.each([
    [['token'], /--scope/],
    [['token', '--scope', 'root'], /--scope/],
    [['token', '--scope', 'dialin:read', '--ttl', 'forever'], /--ttl/],
    [['token', '--scope', 'dialin:read', '--ttl', '365d'], /--ttl/],
    [['token', '--scope', 'dialin:read', '--colour'], /Unknown option/],
    [['token', '--scope', 'dialin:read', '--sub', 'a b'], /--sub/],
    [['frobnicate'], /unknown command/],
  ])('refuses %j with a clear message', async (args, message) => {
    const { output, io } = capture();
    expect(await runCli(args, testEnv(), io)).toBe(2);
    expect(output.out).toBe('');
    expect(output.err).toMatch(message);
  });

  it('lists its commands with --help', async () => {
    const { output, io } = capture();
    expect(await runCli(['--help'], testEnv(), io)).toBe(0);
    expect(output.out).toMatch(/token --scope/);
    expect(output.out).toMatch(/serve/);
  });
});

describe('npx dialin backup', () => {
  it('copies the live database to a new file that opens with the same rooms and PINs', async () => {
    const dir = tempDir();
    const service = await startTestService(join(dir.path, 'live.sqlite'));
    try {
      await service.request('/api/v1/rooms/rat/pins', jsonInit('POST', { pin: '48213769' }));
      const { output, io } = capture();
      const destination = join(dir.path, 'backup.sqlite');
      expect(await runCli(['backup', destination], { DB_PATH: join(dir.path, 'live.sqlite') }, io)).toBe(0);
      expect(output.out).toContain(destination);

      const copy = await startTestService(destination);
      try {
        expect(await copy.resolver.resolve('48213769')).toMatchObject({ found: true, room: 'rat' });
      } finally {
        await copy.stop();
      }
      const again = capture();
      expect(await runCli(['backup', destination], { DB_PATH: join(dir.path, 'live.sqlite') }, again.io)).toBe(1);
      expect(again.output.err).toMatch(/exists already/);
    } finally {
      await service.stop();
      dir.cleanup();
    }
  });

  it('refuses a missing database or destination', async () => {
    const { output, io } = capture();
    expect(await runCli(['backup'], {}, io)).toBe(2);
    expect(await runCli(['backup', '/tmp/x.sqlite'], { DB_PATH: '/nonexistent/db.sqlite' }, io)).toBe(1);
    expect(output.err).toMatch(/no database at \/nonexistent\/db.sqlite/);
  });

  it('says in one line when the backup folder does not exist', async () => {
    const dir = tempDir();
    const service = await startTestService(join(dir.path, 'folder.sqlite'));
    try {
      const { output, io } = capture();
      expect(await runCli(['backup', join(dir.path, 'no-such-folder', 'b.sqlite')], { DB_PATH: join(dir.path, 'folder.sqlite') }, io)).toBe(1);
      expect(output.err).toBe(`dialin backup: the folder ${join(dir.path, 'no-such-folder')} does not exist; create it first or choose another\n`);
    } finally {
      await service.stop();
      dir.cleanup();
    }
  });
});
