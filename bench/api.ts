/**
 * npm run bench:api — load the HTTP API as Jitsi Meet and an administrator would, and time
 * the PIN lookup the gateway does on every call. Prints figures; asserts nothing.
 *
 * The service runs built, in its own process (as in production) with info-level logging to a
 * discarded pipe; autocannon runs here. Both share this machine's cores.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import { PinResolver } from '../provisioning/pin-resolver';
import { SqliteStore } from '../provisioning/store/sqlite';
import { startFlags } from '../tools/testbed/stack';

const SECRET = 'bench-secret-that-is-long-enough-0123456789';
const MUC = 'conference.meet.example.org';
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** This VM's throughput swings by ±20 % from one run to the next; lookups run this often. */
const LOOKUP_RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startServer(dbPath: string, port: number): Promise<ChildProcess> {
  const build = spawnSync('npm', ['run', 'build'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  const child = spawn(process.execPath, [...startFlags(), 'dist/app/main.js'], {
    env: {
      ...process.env,
      JWT_SECRET: SECRET,
      JITSI_MUC_DOMAIN: MUC,
      JIGASI_URIS: 'sip:127.0.0.1:5070',
      DIALIN_NUMBERS: 'DE:+49 4136 123456',
      DB_PATH: dbPath,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error('the service did not start within 10 s');
}

/** Runs a lookup load LOOKUP_RUNS times and reports the run with the median throughput. */
async function reportMedian(name: string, options: autocannon.Options): Promise<void> {
  const results: autocannon.Result[] = [];
  for (let run = 0; run < LOOKUP_RUNS; run++) results.push(await autocannon(options));
  results.sort((a, b) => a.requests.average - b.requests.average);
  const all = results.map((result) => Math.round(result.requests.average)).join(', ');
  report(`${name} (median of ${LOOKUP_RUNS}: ${all} req/s)`, results[Math.floor(results.length / 2)]!);
}

function report(name: string, result: autocannon.Result): void {
  const errors = result.errors + result.timeouts + result.non2xx;
  process.stdout.write(
    `${name.padEnd(28)} ${Math.round(result.requests.average).toString().padStart(7)} req/s  ` +
      `p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  max ${result.latency.max} ms  ` +
      `requests ${result.requests.total}  errors ${errors}\n`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dialin-bench-'));
  const dbPath = join(dir, 'bench.sqlite');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startServer(dbPath, port);
  const token = jwt.sign({ scope: 'dialin:admin' }, SECRET, { algorithm: 'HS256', audience: 'dialin-api', expiresIn: 3600, subject: 'bench' });
  process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model}; node ${process.version}; ${DURATION_S} s per run, ${CONNECTIONS} connections\n`);

  try {
    let created = 0;
    const create = await autocannon({
      url: base,
      connections: CONNECTIONS,
      duration: DURATION_S,
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => ({
            ...request,
            path: `/api/v1/rooms/bench-${created++ % 200}/pins`,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: '{}',
          }),
        },
      ],
    });
    report('PIN create (POST)', create);
    // Rooms an administrator made PINs for are closed to Jitsi Meet's mapper until opened.
    for (let room = 0; room < 200; room++) {
      await fetch(`${base}/api/v1/rooms/bench-${room}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{"dialInPublic":true}',
      });
    }

    const store = new SqliteStore(dbPath);
    const pins = (await Promise.all((await store.listRooms()).map(async (room) => store.listPins(room.name)))).flat().map((pin) => pin.pin);
    process.stdout.write(`PINs in the directory: ${pins.length}\n`);

    let next = 0;
    await reportMedian('mapper lookup by id (GET)', {
      url: base,
      connections: CONNECTIONS,
      duration: DURATION_S,
      requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/conferenceMapper?id=${pins[next++ % pins.length]}` }) }],
    });
    await reportMedian('mapper lookup by room (GET)', {
      url: base,
      connections: CONNECTIONS,
      duration: DURATION_S,
      requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/conferenceMapper?conference=bench-${next++ % 200}@${MUC}` }) }],
    });
    await reportMedian('dial-in numbers (GET)', { url: `${base}/phoneNumberList`, connections: CONNECTIONS, duration: DURATION_S });

    const resolver = await PinResolver.create({ store, mucDomain: MUC, pinFailuresPerHour: 10, pinFailuresGlobalPerHour: 100 });
    const samples: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      const digits = i % 10 === 9 ? '99999999999' : pins[i % pins.length]!;
      const started = process.hrtime.bigint();
      await resolver.resolve(digits);
      samples.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    samples.sort((a, b) => a - b);
    const at = (q: number) => samples[Math.floor(q * (samples.length - 1))]!.toFixed(1);
    process.stdout.write(`PIN resolve in-process        median ${at(0.5)} µs  p99 ${at(0.99)} µs  (${samples.length} lookups, 10 % unknown)\n`);
    await store.close();
  } finally {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
