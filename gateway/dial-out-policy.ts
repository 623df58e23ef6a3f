import { randomUUID } from 'node:crypto';
import type { Store } from '../provisioning/store/store';

/**
 * Toll-fraud safeguards for every call the gateway places (SPEC §6 "Dial-out"): a stolen admin
 * token must not turn the municipality's trunk into a premium-rate dialler. A number must start
 * with one of DIALOUT_ALLOWED, must not start with a denied prefix (the fixed list below plus
 * DIALOUT_DENIED), and calls are capped per hour (sliding) and at once.
 */

/**
 * Always denied, whatever DIALOUT_ALLOWED says. Germany: 0900 premium rate, 0137 mass calling
 * (televoting), 0118 directory enquiries, 019x online services and routing; international
 * premium rate (+979), shared cost (+808), satellite and international networks (+870,
 * +881, +882, +883), where fraud calls go.
 */
export const ALWAYS_DENIED_PREFIXES = ['+49900', '+49137', '+49118', '+4919', '+979', '+808', '+870', '+881', '+882', '+883'] as const;

export type DialOutRefusal = 'not-allowed' | 'denied' | 'hourly-cap' | 'concurrency-cap';

export interface DialOutLimits {
  /** E.164 prefixes a number must start with, e.g. ["+49"]. */
  allowed: string[];
  /** Further prefixes to refuse. */
  denied: string[];
  maxPerHour: number;
  maxConcurrent: number;
}

const HOUR_MS = 60 * 60 * 1000;
/** The key the hourly cap counts under in the database, shared by every process of the service. */
const HOURLY_KEY = 'dial-out:hour';

export class DialOutPolicy {
  constructor(
    private readonly limits: DialOutLimits,
    /** Where placed calls are counted: the database, so that the cap holds over every process. */
    private readonly counter: Pick<Store, 'takeLimitedAttempt'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the prefixes let `number` (E.164) be called at all. */
  numberRefusal(number: string): DialOutRefusal | undefined {
    if ([...ALWAYS_DENIED_PREFIXES, ...this.limits.denied].some((prefix) => number.startsWith(prefix))) return 'denied';
    if (!this.limits.allowed.some((prefix) => number.startsWith(prefix))) return 'not-allowed';
    return undefined;
  }

  /**
   * Checks `number` and the caps, and counts the call when it may be placed. The hourly count is
   * one atomic step in the database: requests arriving together, in any process, cannot all pass
   * a cap of one. `activeDialOuts` are this process's, those being admitted included.
   */
  async admit(number: string, activeDialOuts: number): Promise<DialOutRefusal | undefined> {
    const refusal = this.numberRefusal(number);
    if (refusal) return refusal;
    if (activeDialOuts >= this.limits.maxConcurrent) return 'concurrency-cap';
    const now = this.now();
    const counted = await this.counter.takeLimitedAttempt({ id: randomUUID(), keys: [{ key: HOURLY_KEY, limit: this.limits.maxPerHour }], at: now, since: now - HOUR_MS });
    return counted ? undefined : 'hourly-cap';
  }
}
