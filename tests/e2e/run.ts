/**
 * npm run test:e2e — calls through a real drachtio-server and FreeSWITCH with sipp playing the
 * trunk and Jigasi. Skips (exit 0) when the servers or sipp are not there; otherwise ends with
 * "N passed, N failed" and exits non-zero on any failure.
 *
 * Servers: DRACHTIO_HOST/PORT/SECRET and FREESWITCH_HOST/PORT/SECRET as for the service;
 * E2E_SIP_ADDRESS [DRACHTIO_HOST:5060] is where drachtio-server takes SIP. FreeSWITCH must run
 * with freeswitch-config/ (README: end-to-end tests). Nothing else may be connected to that
 * drachtio-server as an application, or it would take some of the calls.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import jwt from 'jsonwebtoken';
import { dtmfPcapDurationMs, writeDtmfPcap } from './dtmf-pcap';
import { callerScenario, jigasiScenario, type CallerPlan, type JigasiBehaviour } from './scenarios';

const ROOT = resolve(__dirname, '..', '..');
const env = process.env;
const DRACHTIO_HOST = env.DRACHTIO_HOST ?? '127.0.0.1';
const DRACHTIO_PORT = Number(env.DRACHTIO_PORT ?? 9022);
const FREESWITCH_HOST = env.FREESWITCH_HOST ?? '127.0.0.1';
const FREESWITCH_PORT = Number(env.FREESWITCH_PORT ?? 8021);
const SIP_ADDRESS = env.E2E_SIP_ADDRESS ?? `${DRACHTIO_HOST}:5060`;
const MUC = 'conference.meet.example.org';
const JIGASI_PORTS = [5091, 5092];
const SECRET = randomBytes(24).toString('hex');

function reachable(host: string, port: number): Promise<boolean> {
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

async function preflight(): Promise<string[]> {
  const problems: string[] = [];
  if (!(await reachable(DRACHTIO_HOST, DRACHTIO_PORT))) problems.push(`no drachtio-server at ${DRACHTIO_HOST}:${DRACHTIO_PORT}`);
  if (!(await reachable(FREESWITCH_HOST, FREESWITCH_PORT))) problems.push(`no FreeSWITCH event socket at ${FREESWITCH_HOST}:${FREESWITCH_PORT}`);
  if (spawnSync('sipp', ['-v']).error) problems.push('sipp is not installed (Debian: apt-get install sip-tester)');
  return problems;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Event-socket API command through drachtio-modesl (a dependency of drachtio-fsmrf). */
function freeswitchApi(command: string): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esl = require('drachtio-modesl') as { Connection: new (host: string, port: number, password: string, ready: () => void) => EslConnection };
  interface EslConnection {
    api(command: string, callback: (response: { getBody(): string }) => void): void;
    disconnect(): void;
    on(event: string, listener: (error: Error) => void): void;
  }
  return new Promise((done, fail) => {
    const connection = new esl.Connection(FREESWITCH_HOST, FREESWITCH_PORT, env.FREESWITCH_SECRET ?? 'ClueCon', () => {
      connection.api(command, (response) => {
        connection.disconnect();
        done(response.getBody());
      });
    });
    connection.on('error', fail);
  });
}

interface Gateway {
  process: ChildProcess;
  url: string;
  dbPath: string;
  log: string[];
}

async function startGateway(work: string): Promise<Gateway> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  const port = await freePort();
  const dbPath = join(work, 'gateway.sqlite');
  const log: string[] = [];
  const child = spawn(process.execPath, ['dist/service/main.js'], {
    cwd: ROOT,
    env: {
      ...env,
      JWT_SECRET: SECRET,
      JITSI_MUC_DOMAIN: MUC,
      JIGASI_URIS: JIGASI_PORTS.map((jigasiPort) => `sip:jigasi@127.0.0.1:${jigasiPort}`).join(','),
      DB_PATH: dbPath,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      SIP_TRUSTED_SOURCES: '127.0.0.1/32',
      PIN_ATTEMPTS: '3',
      PIN_FAILURES_PER_HOUR: '3',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 75; attempt++) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return { process: child, url, dbPath, log };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  child.kill();
  throw new Error(`the gateway did not become ready within 15 s:\n${log.join('').slice(-2000)}`);
}

const adminToken = () => jwt.sign({ scope: 'dialin:admin' }, SECRET, { algorithm: 'HS256', audience: 'dialin-api', expiresIn: 600, subject: 'e2e' });

async function api(gateway: Gateway, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface SippRun {
  exit: Promise<number>;
  kill(): void;
}

function runSipp(work: string, name: string, scenario: string, args: string[]): SippRun {
  const file = join(work, `${name}.xml`);
  writeFileSync(file, scenario);
  const child = spawn('sipp', ['-sf', file, '-m', '1', '-mi', '127.0.0.1', '-nostdin', '-trace_err', '-error_file', join(work, `${name}-errors.log`), ...args], {
    stdio: 'ignore',
  });
  const exit = new Promise<number>((done) => child.once('exit', (code) => done(code ?? 1)));
  return { exit, kill: () => child.kill('SIGKILL') };
}

interface Case {
  name: string;
  prepare?: (gateway: Gateway) => Promise<{ pin?: string }>;
  jigasi: Array<JigasiBehaviour | undefined>;
  caller: (setup: { pin?: string; work: string }) => CallerPlan;
  /** Bound to 127.0.0.2 instead of 127.0.0.1 (an untrusted source). */
  callerAddress?: string;
  during?: (gateway: Gateway) => Promise<void>;
  outcome?: string;
}

let numberCounter = 100;
const nextCaller = () => `+49413655${String(numberCounter++).padStart(4, '0')}`;

/** Entries typed as RFC 4733 events; each waits until the previous one has played and been checked. */
function pcapSteps(work: string, entries: string[]): CallerPlan['steps'] {
  let previousMs = 0;
  let clockMs = 0;
  return entries.flatMap((keys) => {
    const path = join(work, `keys-${randomBytes(4).toString('hex')}.pcap`);
    const pause = previousMs === 0 ? 1000 : previousMs + 1500;
    clockMs += pause;
    writeDtmfPcap(path, keys, clockMs);
    previousMs = dtmfPcapDurationMs(keys);
    return [{ pause }, { pcap: path }];
  });
}

async function createPin(gateway: Gateway, body: Record<string, unknown>, room = 'gemeinderat'): Promise<string> {
  const response = await api(gateway, 'POST', `/api/v1/rooms/${room}/pins`, body);
  if (response.status !== 201) throw new Error(`creating a PIN failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { pin: string }).pin;
}

const jigasiAnswers = (displayName: string, holdMs?: number): JigasiBehaviour => ({
  kind: 'answer',
  room: `gemeinderat@${MUC}`,
  password: '2468',
  displayName,
  holdMs,
});

const maskedName = (number: string) => `Telefon ...${number.slice(-2)}`;

function cases(): Case[] {
  const lockedOutCaller = nextCaller();
  const [infoCaller, failoverCaller, kickedCaller] = [nextCaller(), nextCaller(), nextCaller()];
  return [
    {
      name: 'valid PIN by RFC 2833: bridged to Jigasi, headers checked, Jigasi hangs up',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Frau Müller' }) }),
      jigasi: [jigasiAnswers('Frau Müller', 4000)],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'completed',
    },
    {
      name: 'valid PIN by SIP INFO; the room sees the masked caller',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(infoCaller), 3000)],
      caller: ({ pin }) => ({ callerNumber: infoCaller, steps: [{ pause: 800 }, ...[...`${pin}#`].map((key) => ({ info: key }))], expect: 'bye' }),
      outcome: 'completed',
    },
    {
      name: 'wrong PIN until hang-up',
      jigasi: [],
      caller: ({ work }) => ({ callerNumber: lockedOutCaller, steps: pcapSteps(work, ['97531864#', '97531865#', '97531866#']), expect: 'bye' }),
      outcome: 'pin-failed',
    },
    {
      name: 'lockout after PIN_FAILURES_PER_HOUR wrong PINs',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [],
      caller: ({ pin, work }) => ({ callerNumber: lockedOutCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'locked-out',
    },
    {
      name: 'PIN not open yet',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { validFrom: new Date(Date.now() + 86_400_000).toISOString() }) }),
      jigasi: [],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'not-open',
    },
    {
      name: 'first Jigasi answers 503, the second answers',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [{ kind: 'refuse', status: 503 }, jigasiAnswers(maskedName(failoverCaller), 3000)],
      caller: ({ pin, work }) => ({ callerNumber: failoverCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'completed',
    },
    {
      name: 'every Jigasi down: "cannot reach the conference"',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [{ kind: 'refuse', status: 503 }, { kind: 'refuse', status: 503 }],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'jigasi-failed',
    },
    {
      name: 'caller hangs up while Jigasi rings: the INVITE is cancelled',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [{ kind: 'ring' }],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: [...pcapSteps(work, [`${pin}#`]), { pause: 4000 }, { bye: true }], expect: 'none' }),
      outcome: 'cancelled',
    },
    {
      name: 'caller hangs up during the greeting',
      jigasi: [],
      caller: () => ({ callerNumber: nextCaller(), steps: [{ pause: 1500 }, { bye: true }], expect: 'none' }),
      outcome: 'answered-no-pin',
    },
    {
      name: 'an administrator kicks the call through the API',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(kickedCaller))],
      caller: ({ pin, work }) => ({ callerNumber: kickedCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: async (gateway) => {
        for (let attempt = 0; attempt < 100; attempt++) {
          const { items } = (await (await api(gateway, 'GET', '/api/v1/calls')).json()) as { items: Array<{ id: string; state: string }> };
          const bridged = items.find((call) => call.state === 'bridged');
          if (bridged) {
            const response = await api(gateway, 'DELETE', `/api/v1/calls/${bridged.id}`);
            if (response.status !== 204) throw new Error(`kick answered ${response.status}`);
            return;
          }
          await sleep(200);
        }
        throw new Error('the call never reached the conference');
      },
      outcome: 'kicked',
    },
    {
      name: 'an INVITE from an untrusted source gets 403',
      jigasi: [],
      callerAddress: '127.0.0.2',
      caller: () => ({ callerNumber: nextCaller(), steps: [], expect: 'none', refusedWith: 403 }),
    },
  ];
}

async function latestOutcome(gateway: Gateway): Promise<string | null | undefined> {
  const db = new Database(gateway.dbPath, { readonly: true });
  try {
    const row = db.prepare('SELECT outcome FROM call_records ORDER BY started_at DESC LIMIT 1').get() as { outcome: string | null } | undefined;
    return row?.outcome;
  } finally {
    db.close();
  }
}

async function settled(gateway: Gateway): Promise<string | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { items } = (await (await api(gateway, 'GET', '/api/v1/calls')).json()) as { items: unknown[] };
    const channels = Number(/(\d+) total/.exec(await freeswitchApi('show channels count'))?.[1] ?? -1);
    if (items.length === 0 && channels === 0) return undefined;
    if (attempt === 49) return `left behind: ${items.length} calls in the API, ${channels} FreeSWITCH channels`;
    await sleep(200);
  }
  return 'unreachable';
}

async function runCase(gateway: Gateway, caseWork: string, testCase: Case): Promise<string | undefined> {
  const work = caseWork;
  const before = await latestOutcome(gateway).catch(() => undefined);
  const setup = testCase.prepare ? await testCase.prepare(gateway) : {};
  const jigasis = testCase.jigasi.map((behaviour, index) =>
    behaviour ? runSipp(work, `jigasi-${index}`, jigasiScenario(behaviour, SIP_ADDRESS), ['-i', '127.0.0.1', '-p', String(JIGASI_PORTS[index]), '-mp', String(16000 + index * 100)]) : undefined,
  );
  await sleep(300);
  const plan = testCase.caller({ ...setup, work });
  const caller = runSipp(work, 'caller', callerScenario(plan), [SIP_ADDRESS, '-i', testCase.callerAddress ?? '127.0.0.1', '-p', '5071', '-mp', '17000']);
  const problems: string[] = [];
  const during = testCase.during?.(gateway).catch((error: unknown) => problems.push((error as Error).message));
  const callerExit = await Promise.race([caller.exit, sleep(90_000).then(() => -1)]);
  await during;
  const jigasiExits = await Promise.all(jigasis.map((run) => (run ? Promise.race([run.exit, sleep(10_000).then(() => -1)]) : 0)));
  caller.kill();
  jigasis.forEach((run) => run?.kill());
  if (callerExit !== 0) problems.push(`caller sipp exited ${callerExit} (see ${work}/caller-errors.log)`);
  jigasiExits.forEach((code, index) => {
    if (code !== 0) problems.push(`jigasi ${index} sipp exited ${code} (see ${work}/jigasi-${index}-errors.log)`);
  });
  const leftovers = await settled(gateway);
  if (leftovers) problems.push(leftovers);
  if (testCase.outcome !== undefined) {
    const outcome = await latestOutcome(gateway);
    if (outcome !== testCase.outcome) problems.push(`call record outcome ${outcome}, expected ${testCase.outcome}`);
  } else if ((await latestOutcome(gateway)) !== before) {
    problems.push('a call record was written for a refused INVITE');
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

async function main(): Promise<number> {
  const problems = await preflight();
  if (problems.length > 0) {
    process.stdout.write(`e2e suite skipped: ${problems.join('; ')}\n`);
    return 0;
  }
  const work = mkdtempSync(join(tmpdir(), 'dialin-e2e-'));
  const gateway = await startGateway(work);
  let passed = 0;
  let failed = 0;
  try {
    await api(gateway, 'PUT', '/api/v1/rooms/gemeinderat', { password: '2468' });
    for (const [index, testCase] of cases().entries()) {
      const started = Date.now();
      const caseWork = join(work, `case-${index + 1}`);
      mkdirSync(caseWork);
      const failure = await runCase(gateway, caseWork, testCase).catch((error: unknown) => `the case could not run: ${(error as Error).message}`);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (failure) {
        failed++;
        process.stdout.write(`✗ ${testCase.name} (${seconds} s): ${failure}\n`);
      } else {
        passed++;
        process.stdout.write(`✓ ${testCase.name} (${seconds} s)\n`);
      }
    }
  } finally {
    gateway.process.kill('SIGTERM');
    if (failed > 0) process.stdout.write(`gateway log (last lines):\n${gateway.log.join('').split('\n').slice(-30).join('\n')}\nsipp logs in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`e2e suite failed to run: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
