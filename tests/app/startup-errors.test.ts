import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_SECRET, tempDir } from '../support/service';

/** What an operator sees when the service cannot start: one line that says what to do. */
function start(env: Record<string, string>): { status: number | null; stderr: string } {
  const child = spawnSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), join(__dirname, '../../app/main.ts')], {
    encoding: 'utf8',
    timeout: 20_000,
    cwd: tmpdir(),
    env: { PATH: process.env.PATH, TS_NODE_PROJECT: join(__dirname, '../../tsconfig.json'), ...env },
  });
  return { status: child.status, stderr: child.stderr };
}

const base = (dbPath: string) => ({
  JWT_SECRET: TEST_SECRET,
  JITSI_MUC_DOMAIN: 'conference.meet.example.org',
  JIGASI_URIS: 'sip:jigasi@127.0.0.1:5070',
  DB_PATH: dbPath,
  HTTP_HOST: '127.0.0.1',
  DRACHTIO_PORT: '1',
  FREESWITCH_PORT: '1',
});

describe('a service that cannot start', () => {
  it('names DATABASE_URL, without its password, when PostgreSQL cannot be reached', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as { port: number };
    closed.close();
    const dir = tempDir();
    try {
      const { status, stderr } = start({ ...base(join(dir.path, 'db.sqlite')), HTTP_PORT: '0', DATABASE_URL: `postgres://dialin:geheim@127.0.0.1:${port}/dialin` });
      expect(status).toBe(1);
      expect(stderr).toBe(`dialin: cannot start: DATABASE_URL: PostgreSQL at postgres://dialin@127.0.0.1:${port}/dialin: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    } finally {
      dir.cleanup();
    }
  });

  it('names HTTP_PORT in one line when the port is taken', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as { port: number };
    const dir = tempDir();
    try {
      const { status, stderr } = start({ ...base(join(dir.path, 'db.sqlite')), HTTP_PORT: String(port) });
      expect(status).toBe(1);
      expect(stderr).toBe(`dialin: cannot start: HTTP_HOST 127.0.0.1, HTTP_PORT ${port} is in use by another program: stop it or choose another HTTP_PORT (EADDRINUSE)\n`);
    } finally {
      taken.close();
      dir.cleanup();
    }
  });

  it('names every empty REQUIRED variable in one line', () => {
    const { status, stderr } = start({ JWT_SECRET: TEST_SECRET });
    expect(status).toBe(78);
    expect(stderr).toBe('dialin: configuration error: JITSI_MUC_DOMAIN, JIGASI_URIS: required but empty; fill them in .env (cp .env.example .env, then every line marked REQUIRED) and start again\n');
  });
});
