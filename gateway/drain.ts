import type { Logger } from 'pino';
import type { Readiness } from '../core/readiness';
import type { CallRegistry } from './call-registry';
import type { SipResponse } from './sip';

/** What a caller's phone or provider is told to wait before trying again while this process drains. */
export const RETRY_AFTER_SECONDS = 60;

/** How long the calls ended after DRAIN_SECONDS get for their last prompt and BYE. */
const FAREWELL_WITHIN_MS = 30_000;

export interface DrainParts {
  registry: CallRegistry;
  readiness: Readiness;
  /**
   * Lets drachtio-server give new INVITEs to the other processes of the service. Only where
   * several may run (PostgreSQL); a lone process keeps the INVITEs and answers them itself,
   * with Retry-After.
   */
  handOffInvites: (() => void) | undefined;
  log: Logger;
}

/**
 * The graceful stop (SIGTERM): no new calls, /readyz 503 "draining", the calls in progress go
 * on until they end or DRAIN_SECONDS pass; then callers in the conference hear that the service
 * closes for maintenance and every call ends.
 */
export class Drain {
  private draining = false;

  constructor(private readonly parts: DrainParts) {}

  get active(): boolean {
    return this.draining;
  }

  /** A new INVITE while draining: 503 with Retry-After. */
  refuse(res: SipResponse): void {
    res.send(503, undefined, { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } });
  }

  /** Drains; resolves once every call has ended. `cutShort` ends the wait at once (a second SIGTERM). */
  async run(seconds: number, cutShort?: AbortSignal): Promise<void> {
    const { registry, readiness, handOffInvites, log } = this.parts;
    this.draining = true;
    readiness.startDraining();
    handOffInvites?.();
    log.info({ calls: registry.size, seconds }, 'draining: no new calls; the calls in progress go on');
    if (await registry.emptied(seconds * 1000, cutShort)) {
      log.info('drained: every call has ended');
      return;
    }
    log.info({ calls: registry.size }, 'drain time is over: ending the calls still in progress');
    await registry.endForMaintenance(FAREWELL_WITHIN_MS);
  }
}
