/**
 * npm run bench:stores — the lookups every call and every Jitsi Meet invite dialog cost, on SQLite
 * and on PostgreSQL side by side (a server started for the run from Debian's binaries, on this
 * host): the gateway's PIN lookup (PinResolver.resolve) and the mapper's reverse lookup (the
 * store's findRoomOfPin, which SQLite answers from memory and PostgreSQL from the database).
 * Prints figures; asserts nothing.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PinResolver } from '../provisioning/pin-resolver';
import { PostgresStore } from '../provisioning/store/postgres';
import { SqliteStore } from '../provisioning/store/sqlite';
import type { Store } from '../provisioning/store/store';
import { startPostgres } from '../tools/testbed/postgres';

const PINS = Number(process.env.BENCH_PINS ?? 2000);
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 5000);
const MUC = 'conference.meet.example.org';

async function fill(store: Store): Promise<string[]> {
  const digits: string[] = [];
  for (let n = 0; n < PINS; n++) {
    const pin = String(40_000_000 + n * 7919);
    digits.push(pin);
    await store.insertPin({ id: `pin_${n}`, room: `raum-${n % 200}`, pin, label: null, role: 'speaker', validFrom: null, validUntil: null, source: n % 2 === 0 ? 'mapper' : 'admin', createdAt: 1 }, 1);
  }
  return digits;
}

async function time(what: string, store: string, run: (index: number) => Promise<unknown>): Promise<void> {
  const durations: number[] = [];
  const started = process.hrtime.bigint();
  for (let index = 0; index < LOOKUPS; index++) {
    const before = process.hrtime.bigint();
    await run(index);
    durations.push(Number(process.hrtime.bigint() - before) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  durations.sort((a, b) => a - b);
  const percentile = (p: number) => durations[Math.min(durations.length - 1, Math.floor(durations.length * p))]!.toFixed(3);
  process.stdout.write(`${what.padEnd(30)} ${store.padEnd(11)} ${String(Math.round(LOOKUPS / seconds)).padStart(7)}/s   p50 ${percentile(0.5)} ms   p99 ${percentile(0.99)} ms\n`);
}

async function measure(name: string, store: Store): Promise<void> {
  const digits = await fill(store);
  const resolver = await PinResolver.create({ store, mucDomain: MUC, pinFailuresPerHour: 10, pinFailuresGlobalPerHour: 100 });
  await time('PIN lookup (each call)', name, async (index) => resolver.resolve(digits[index % digits.length]!));
  await time('mapper reverse lookup', name, async (index) => store.findRoomOfPin(digits[index % digits.length]!));
  await store.close();
}

async function main(): Promise<void> {
  process.stdout.write(`${PINS} PINs, ${LOOKUPS} lookups each, one after another\n`);
  const dir = mkdtempSync(join(tmpdir(), 'dialin-bench-stores-'));
  const postgres = await startPostgres();
  try {
    await measure('SQLite', new SqliteStore(join(dir, 'bench.sqlite')));
    await measure('PostgreSQL', await PostgresStore.connect(await postgres.createDatabase()));
  } finally {
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:stores failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
