import { createHmac, randomBytes } from 'node:crypto';
import { callerDigits } from '../core/privacy';
import { roomJid } from './room-name';
import type { ListenerMode, PinRole, Store } from './store/store';

/**
 * What the gateway asks of the directory during a call: does this PIN open a room, and
 * has this caller guessed too often? Caller numbers are only ever stored as keyed hashes
 * that are deleted after an hour.
 */

export type PinResolution =
  | { found: false }
  | {
      found: true;
      pinId: string;
      room: string;
      roomJid: string;
      label: string | null;
      role: PinRole;
      /** The room's password for Jigasi; null for a mapper-made PIN (its caller types it when asked). */
      password: string | null;
      /** The room's callers start muted. */
      startMuted: boolean;
      /** Whether the room's listeners share one Jigasi leg. */
      listeners: ListenerMode;
      validFrom: number | null;
      validUntil: number | null;
      /** Whether validFrom/validUntil admit a call at the moment of the lookup. */
      openNow: boolean;
    };

export interface ResolverOptions {
  store: Store;
  mucDomain: string;
  pinFailuresPerHour: number;
  /** PIN_FAILURES_GLOBAL_PER_HOUR: wrong PINs an hour over all callers before entries are slowed down. */
  pinFailuresGlobalPerHour: number;
  now?: () => number;
}

/** Whether PIN entries are slowed down now, because callers over all got too many PINs wrong this hour. */
export interface GuessingPressure {
  slowed: boolean;
  /** The pause before an entry's answer; 0 when not slowed. */
  pauseMs: number;
  /** Wrong PINs over all callers in the last hour. */
  failuresLastHour: number;
  /** True for the first slowed entry in a minute: the moment to say so in the log. */
  worthAWarning: boolean;
}

const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;
const SLOWED_PAUSE_MIN_MS = 2_000;
/** A legitimate caller waits at most this long for the answer to their PIN while guessing goes on. */
export const SLOWED_PAUSE_MAX_MS = 60_000;

/**
 * The pause before a PIN entry's answer once `failuresLastHour` has reached the global budget:
 * 2 s at the budget, doubling with every further 10 % of it, at most SLOWED_PAUSE_MAX_MS.
 * Every entry waits, right or wrong: a right PIN answered sooner would tell a guesser to hang up.
 */
export function slowedPauseMs(failuresLastHour: number, budget: number): number {
  if (failuresLastHour < budget) return 0;
  const excess = failuresLastHour - budget;
  return Math.min(SLOWED_PAUSE_MAX_MS, SLOWED_PAUSE_MIN_MS * 2 ** (excess / Math.max(1, budget / 10)));
}
const CALLER_KEY_SETTING = 'caller-hash-key';

export class PinResolver {
  private readonly store: Store;
  private readonly now: () => number;

  private lastWarningAt = -Infinity;

  private constructor(
    private readonly options: ResolverOptions,
    private readonly hashKey: Buffer,
  ) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
  }

  static async create(options: ResolverOptions): Promise<PinResolver> {
    const key = await options.store.getOrCreateSetting(CALLER_KEY_SETTING, () => randomBytes(32).toString('base64'));
    return new PinResolver(options, Buffer.from(key, 'base64'));
  }

  async resolve(digits: string): Promise<PinResolution> {
    const pin = await this.store.findPinByDigits(digits);
    if (!pin) return { found: false };
    const now = this.now();
    return {
      found: true,
      pinId: pin.id,
      room: pin.room,
      roomJid: roomJid(pin.room, this.options.mucDomain),
      label: pin.label,
      role: pin.role,
      // A PIN anyone could read in Jitsi's invite dialog does not carry the room's password:
      // its caller types the password when Jitsi asks for it.
      password: pin.source === 'admin' ? pin.roomPassword : null,
      startMuted: pin.roomStartMuted,
      listeners: pin.roomListeners,
      validFrom: pin.validFrom,
      validUntil: pin.validUntil,
      openNow: (pin.validFrom === null || pin.validFrom <= now) && (pin.validUntil === null || pin.validUntil > now),
    };
  }

  /**
   * True when the caller has used up PIN_FAILURES_PER_HOUR. Withheld numbers share one bucket
   * per trunk (the INVITE's source address).
   */
  async isLockedOut(callerNumber: string | undefined, trunk = ''): Promise<boolean> {
    const failures = await this.store.countPinFailures(this.callerKey(callerNumber, trunk), this.now() - HOUR_MS);
    return failures >= this.options.pinFailuresPerHour;
  }

  async recordFailure(callerNumber: string | undefined, trunk = ''): Promise<void> {
    return this.store.recordPinFailure(this.callerKey(callerNumber, trunk), this.now());
  }

  /** The second budget, over all callers: rotating caller numbers get around the first. */
  async guessingPressure(): Promise<GuessingPressure> {
    const now = this.now();
    const failuresLastHour = await this.store.countAllPinFailures(now - HOUR_MS);
    const pauseMs = slowedPauseMs(failuresLastHour, this.options.pinFailuresGlobalPerHour);
    const worthAWarning = pauseMs > 0 && now - this.lastWarningAt >= MINUTE_MS;
    if (worthAWarning) this.lastWarningAt = now;
    return { slowed: pauseMs > 0, pauseMs, failuresLastHour, worthAWarning };
  }

  async recordSuccess(pinId: string): Promise<void> {
    return this.store.markPinUsed(pinId, this.now());
  }

  /** Failures older than an hour no longer count; keeping them would only keep data. */
  async purgeOldFailures(): Promise<number> {
    return this.store.purgePinFailures(this.now() - HOUR_MS);
  }

  private callerKey(callerNumber: string | undefined, trunk: string): string {
    const digits = callerDigits(callerNumber);
    return createHmac('sha256', this.hashKey)
      .update(digits ?? `anonymous via ${trunk}`)
      .digest('base64url')
      .slice(0, 24);
  }
}
