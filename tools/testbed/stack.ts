/**
 * What the end-to-end suite and the SIP benchmark share: finding the servers, starting the
 * gateway built from the working tree, its API, sipp runs and FreeSWITCH's event socket.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import jwt from 'jsonwebtoken';
import pg from 'pg';

export const ROOT = resolve(__dirname, '..', '..');
const env = process.env;
const DRACHTIO_HOST = env.DRACHTIO_HOST ?? '127.0.0.1';
const DRACHTIO_PORT = Number(env.DRACHTIO_PORT ?? 9022);
const FREESWITCH_HOST = env.FREESWITCH_HOST ?? '127.0.0.1';
const FREESWITCH_PORT = Number(env.FREESWITCH_PORT ?? 8021);
/** The test bed's event-socket password (tests/e2e/docker-compose.yml, the README's start command). */
const FREESWITCH_SECRET = env.FREESWITCH_SECRET ?? 'e2e-secret';
export const SIP_ADDRESS = env.E2E_SIP_ADDRESS ?? `${DRACHTIO_HOST}:5060`;
export const MUC = 'conference.meet.example.org';
export const JIGASI_PORTS = [5091, 5092];
const SECRET = randomBytes(24).toString('hex');

/** Whether something accepts a TCP connection at host:port within a second. */
export async function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

export async function preflight(): Promise<string[]> {
  const problems: string[] = [];
  if (!(await reachable(DRACHTIO_HOST, DRACHTIO_PORT))) problems.push(`no drachtio-server at ${DRACHTIO_HOST}:${DRACHTIO_PORT}`);
  if (!(await reachable(FREESWITCH_HOST, FREESWITCH_PORT))) problems.push(`no FreeSWITCH event socket at ${FREESWITCH_HOST}:${FREESWITCH_PORT}`);
  if (spawnSync('sipp', ['-v']).error) problems.push('sipp is not installed (Debian: apt-get install sip-tester)');
  return problems;
}

/**
 * A FreeSWITCH that is there but refuses the password would leave every gateway unready; the
 * suite says so at once. Undefined when the event socket takes the password.
 */
export async function freeswitchRefusal(): Promise<string | undefined> {
  const answered = await Promise.race([freeswitchApi('status').then(() => true, () => false), sleep(3000).then(() => false)]);
  return answered ? undefined : `FreeSWITCH at ${FREESWITCH_HOST}:${FREESWITCH_PORT} did not take the event-socket password (FREESWITCH_SECRET, default e2e-secret)`;
}

export async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export const sleep = async (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Every gateway and sipp this module started, until it exits. */
const running = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/**
 * SIGKILL to every gateway and sipp started here that still runs; how many of them nobody had
 * signalled yet. The e2e runner calls it after each group, whatever happened in it, so a failed
 * case or a group that could not start leaves no process behind to hold a port for the next.
 */
export async function killStragglers(): Promise<number> {
  const left = [...running];
  const forgotten = left.filter((child) => !child.killed).length;
  await Promise.all(
    left.map(async (child) => {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(5_000)]);
    }),
  );
  return forgotten;
}

/** Event-socket API command through drachtio-modesl (a dependency of drachtio-fsmrf), to the test bed's FreeSWITCH or the one at `port`. */
export async function freeswitchApi(command: string, port = FREESWITCH_PORT): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esl = require('drachtio-modesl') as { Connection: new (host: string, port: number, password: string, ready: () => void) => EslConnection };
  interface EslConnection {
    api(command: string, callback: (response: { getBody(): string }) => void): void;
    disconnect(): void;
    on(event: string, listener: (error: Error) => void): void;
  }
  return new Promise((done, fail) => {
    const connection = new esl.Connection(FREESWITCH_HOST, port, FREESWITCH_SECRET, () => {
      connection.api(command, (response) => {
        connection.disconnect();
        done(response.getBody());
      });
    });
    connection.on('error', fail);
  });
}

export interface Gateway {
  process: ChildProcess;
  url: string;
  dbPath: string;
  /** DATABASE_URL when the gateway runs on PostgreSQL. */
  databaseUrl?: string;
  log: string[];
}

/**
 * Builds and starts the gateway; resolves once /readyz answers 200, or, with `until:
 * 'listening'`, once the HTTP API answers at all (a test bed whose trunk is meant to fail).
 */
export async function startGateway(work: string, overrides: Record<string, string> = {}, until: 'ready' | 'listening' = 'ready'): Promise<Gateway> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  const port = await freePort();
  const dbPath = join(work, 'gateway.sqlite');
  const log: string[] = [];
  const nodeFlags = [...startFlags(), ...(env.GATEWAY_NODE_OPTIONS ?? '').split(' ').filter(Boolean)];
  const child = track(spawn(process.execPath, [...nodeFlags, 'dist/app/main.js'], {
    cwd: ROOT,
    env: {
      ...env,
      JWT_SECRET: SECRET,
      FREESWITCH_SECRET,
      JITSI_MUC_DOMAIN: MUC,
      JIGASI_URIS: JIGASI_PORTS.map((jigasiPort) => `sip:jigasi@127.0.0.1:${jigasiPort}`).join(','),
      DB_PATH: dbPath,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      SIP_TRUSTED_SOURCES: '127.0.0.1/32',
      PIN_ATTEMPTS: '3',
      PIN_FAILURES_PER_HOUR: '3',
      // The fake Jigasi instances come and go with each case; health checks would reorder them.
      JIGASI_HEALTH_CHECK_SECONDS: '0',
      LOG_LEVEL: 'info',
      ...overrides,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  child.stdout!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 75; attempt++) {
    try {
      const status = (await fetch(`${url}/readyz`)).status;
      if (status === 200 || until === 'listening') return { process: child, url, dbPath, databaseUrl: overrides.DATABASE_URL, log };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  child.kill();
  throw new Error(`the gateway did not become ready within 15 s:\n${log.join('').slice(-2000)}`);
}

/** Node's flags in `npm start` (as in the Docker image): the suite and the bench run the service as it runs. */
export function startFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return scripts.start.split(' ').filter((word) => word.startsWith('--'));
}

const adminToken = () => jwt.sign({ scope: 'dialin:admin' }, SECRET, { algorithm: 'HS256', audience: 'dialin-api', expiresIn: 600, subject: 'e2e' });

/** Outcomes of the call records begun at or after `sinceMs` (epoch ms), newest first; from PostgreSQL when the gateway uses it. */
export async function callOutcomes(gateway: Gateway, sinceMs = 0): Promise<Array<string | null>> {
  if (gateway.databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: gateway.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ outcome: string | null }>('SELECT outcome FROM call_records WHERE started_at >= $1 ORDER BY started_at DESC', [sinceMs]);
      return rows.map((row) => row.outcome);
    } finally {
      await client.end();
    }
  }
  const db = new Database(gateway.dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT outcome FROM call_records WHERE started_at >= ? ORDER BY started_at DESC').all(sinceMs) as Array<{ outcome: string | null }>;
    return rows.map((row) => row.outcome);
  } finally {
    db.close();
  }
}

/** FreeSWITCH's open channels (`show channels count`), -1 if the answer has no count. */
export async function freeswitchChannelCount(port = FREESWITCH_PORT): Promise<number> {
  return Number(/(\d+) total/.exec(await freeswitchApi('show channels count', port))?.[1] ?? -1);
}

/** The uuids of FreeSWITCH's channels. */
export async function freeswitchChannelUuids(port = FREESWITCH_PORT): Promise<string[]> {
  return (await freeswitchApi('show channels', port))
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[0]!)
    .filter((uuid) => /^[0-9a-f-]{36}$/.test(uuid));
}

/** POST /api/v1/rooms/{room}/pins: a new PIN of `room`. */
export async function createPin(gateway: Gateway, body: Record<string, unknown>, room = 'gemeinderat'): Promise<string> {
  const response = await api(gateway, 'POST', `/api/v1/rooms/${room}/pins`, body);
  if (response.status !== 201) throw new Error(`creating a PIN failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { pin: string }).pin;
}

/** How many calls the gateway has put into a conference so far (its log). */
export const conferencesReached = (gateway: Gateway) => gateway.log.join('').split('\n').filter((line) => line.includes('"msg":"caller is in the conference"')).length;

/** GET /api/v1/calls: the gateway's calls in progress. */
export async function liveCalls(gateway: Gateway): Promise<Array<{ id: string; state: string }>> {
  return ((await (await api(gateway, 'GET', '/api/v1/calls')).json()) as { items: Array<{ id: string; state: string }> }).items;
}

export async function api(gateway: Gateway, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export function runSipp(work: string, name: string, scenario: string, args: string[]): SippRun {
  const file = join(work, `${name}.xml`);
  writeFileSync(file, scenario);
  const child = track(
    spawn('sipp', ['-sf', file, '-mi', '127.0.0.1', '-nostdin', '-trace_err', '-error_file', join(work, `${name}-errors.log`), ...args], {
      stdio: 'ignore',
    }),
  );
  const exit = new Promise<number>((done) => child.once('exit', (code) => done(code ?? 1)));
  return { exit, kill: () => child.kill('SIGKILL'), pid: child.pid };
}

export interface SippRun {
  exit: Promise<number>;
  kill(): void;
  pid: number | undefined;
}

/** SIGTERM (the gateway drains), a second one after 2 s if calls are still up, SIGKILL when it has not exited 15 s later. */
export async function stopGateway(gateway: Gateway): Promise<void> {
  if (gateway.process.exitCode !== null || gateway.process.signalCode !== null) return;
  const exited = new Promise((resolve) => gateway.process.once('exit', () => resolve('exited')));
  gateway.process.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(2_000)])) === 'exited') return;
  gateway.process.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(15_000)])) === 'exited') return;
  gateway.process.kill('SIGKILL');
  await exited;
}
