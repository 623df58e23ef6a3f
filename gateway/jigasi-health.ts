import type { Logger } from 'pino';
import type { Readiness } from '../core/readiness';
import type { JigasiPool } from './jigasi';

/**
 * SIP OPTIONS to every Jigasi (SPEC §4 step 7): an instance that does not answer, or answers
 * 5xx (overloaded, shutting down), is marked down and tried only when no other is up.
 */

/**
 * Sends OPTIONS; resolves with the final status, undefined when nothing came back, or null
 * when it could not be sent (drachtio-server not connected: that says nothing about Jigasi).
 */
export type OptionsPing = (uri: string) => Promise<number | undefined | null>;

const JIGASI_HEALTH_INTERVAL_MS = 30_000;
const JIGASI_HEALTH_TIMEOUT_MS = 5_000;

async function withTimeout(ping: Promise<number | undefined | null>, ms: number): Promise<number | undefined | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([ping.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

/** One round of checks; marks each instance up or down in the pool, and tells /readyz. */
export async function checkJigasiHealth(pool: JigasiPool, ping: OptionsPing, logger: Logger, readiness: Readiness, timeoutMs = JIGASI_HEALTH_TIMEOUT_MS): Promise<void> {
  const results = await Promise.all(pool.uris.map(async (uri) => ({ uri, status: await withTimeout(ping(uri), timeoutMs) })));
  for (const { uri, status } of results) {
    if (status === null) continue;
    const down = status === undefined || status >= 500;
    if (down !== pool.isDown(uri)) {
      if (down) logger.warn({ jigasi: uri, status: status ?? 'no answer' }, 'Jigasi is down');
      else logger.info({ jigasi: uri, status }, 'Jigasi is up again');
    }
    pool.markDown(uri, down);
  }
  const up = pool.uris.filter((uri) => !pool.isDown(uri));
  readiness.describe('jigasi', Object.fromEntries(pool.uris.map((uri) => [uri, pool.isDown(uri) ? 'down' : 'up'])));
  if (up.length > 0) {
    readiness.markUp('jigasi');
    return;
  }
  // Every call still tries them, in case OPTIONS is what fails: SPEC §4 step 7.
  if (readiness.problems().jigasi === undefined) logger.error({ jigasi: pool.uris }, 'no Jigasi answers SIP OPTIONS: callers will hear that the conference cannot be reached');
  readiness.markDown('jigasi', `no Jigasi answers SIP OPTIONS (${pool.uris.join(', ')})`);
}

/** Checks now and every interval; returns the function that stops it. */
export function watchJigasiHealth(pool: JigasiPool, ping: OptionsPing, logger: Logger, readiness: Readiness, intervalMs = JIGASI_HEALTH_INTERVAL_MS): () => void {
  const log = logger.child({ component: 'jigasi-health' });
  const run = () => {
    checkJigasiHealth(pool, ping, log, readiness).catch((error: unknown) => log.error({ err: error }, 'Jigasi health check failed'));
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
