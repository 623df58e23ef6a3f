/**
 * npm run bench:slow-clients — /healthz while 1,500 connections are held open by clients that
 * send nothing (idle) or a request head a byte at a time (slowloris), spread over 50 loopback
 * addresses (30 each, under the cap of 32 per address). Prints latency percentiles of /healthz
 * asked one after another from one more address, and how many held connections the server
 * closed by itself (its headers and keep-alive timeouts). Figures only; asserts nothing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startFlags } from '../tools/testbed/stack';

const HELD = Number(process.env.BENCH_HELD ?? 1500);
const ADDRESSES = 50;
const PROBES = Number(process.env.BENCH_PROBES ?? 2000);

const sleep = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startService(port: number, dbPath: string): Promise<ChildProcess> {
  const build = spawnSync('npm', ['run', 'build'], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  const child = spawn(process.execPath, [...startFlags(), 'dist/app/main.js'], {
    env: {
      ...process.env,
      JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
      JITSI_MUC_DOMAIN: 'conference.meet.example.org',
      JIGASI_URIS: 'sip:127.0.0.1:5070',
      DB_PATH: dbPath,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      // No SIP side: drachtio-server and FreeSWITCH are not needed to answer HTTP.
      DRACHTIO_PORT: '1',
      FREESWITCH_PORT: '1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await probe(port).catch(() => -1)) > 0) return child;
    await sleep(100);
  }
  child.kill();
  throw new Error('the service did not start within 10 s');
}

/** One GET /healthz on a fresh connection; its latency in ms. */
async function probe(port: number): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', localAddress: '127.0.1.250', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Holds a connection: idle ones send nothing, slow ones a request head a byte a second. */
async function hold(port: number, localAddress: string, slow: boolean, closed: () => void): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.on('close', closed);
    socket.on('error', () => undefined);
    if (!slow) return;
    const head = 'GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Padding: ' + 'a'.repeat(200);
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || sent >= head.length) {
        clearInterval(timer);
        return;
      }
      socket.write(head[sent++]!);
    }, 1000);
    socket.on('close', () => clearInterval(timer));
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'dialin-bench-slow-'));
  const port = await freePort();
  const service = await startService(port, join(work, 'bench.sqlite'));
  let closedByServer = 0;
  try {
    const baseline = [];
    for (let index = 0; index < 200; index++) baseline.push(await probe(port));
    const sockets: Socket[] = [];
    const heldSince = Date.now();
    for (let index = 0; index < HELD; index++) {
      const address = `127.0.1.${1 + (index % ADDRESSES)}`;
      sockets.push(await hold(port, address, index % 2 === 1, () => closedByServer++));
    }
    const latencies: number[] = [];
    const startedAt = Date.now();
    for (let index = 0; index < PROBES; index++) latencies.push(await probe(port));
    const seconds = (Date.now() - startedAt) / 1000;
    latencies.sort((a, b) => a - b);
    baseline.sort((a, b) => a - b);
    // The headers timeout (10 s) closes what never completes a request; give it time to act.
    await sleep(Math.max(0, 15_000 - (Date.now() - heldSince)));
    const stillOpen = sockets.filter((socket) => !socket.destroyed).length;
    process.stdout.write(
      `/healthz alone:                         p50 ${percentile(baseline, 50).toFixed(2)} ms  p99 ${percentile(baseline, 99).toFixed(2)} ms\n` +
        `/healthz with ${HELD} held connections: p50 ${percentile(latencies, 50).toFixed(2)} ms  p99 ${percentile(latencies, 99).toFixed(2)} ms  ` +
        `max ${latencies[latencies.length - 1]!.toFixed(2)} ms  (${PROBES} probes in ${seconds.toFixed(1)} s)\n` +
        `held connections the server closed within 15 s: ${closedByServer} (${stillOpen} still open)\n`,
    );
    for (const socket of sockets) socket.destroy();
  } finally {
    service.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:slow-clients failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
