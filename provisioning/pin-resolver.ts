import { createHmac, randomBytes } from 'node:crypto';
import { callerDigits } from '../core/privacy';
import { roomJid } from './room-name';
import type { PinRole, Store } from './store/store';

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
      validFrom: number | null;
      validUntil: number | null;
      /** Whether validFrom/validUntil admit a call at the moment of the lookup. */
      openNow: boolean;
    };

export interface ResolverOptions {
  store: Store;
  mucDomain: string;
  pinFailuresPerHour: number;
  now?: () => number;
}

const HOUR_MS = 60 * 60 * 1000;
const ANONYMOUS_BUCKET = 'anonymous';
const CALLER_KEY_SETTING = 'caller-hash-key';

export class PinResolver {
  private readonly store: Store;
  private readonly now: () => number;

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
      validFrom: pin.validFrom,
      validUntil: pin.validUntil,
      openNow: (pin.validFrom === null || pin.validFrom <= now) && (pin.validUntil === null || pin.validUntil > now),
    };
  }

  /** True when the caller has used up PIN_FAILURES_PER_HOUR; anonymous callers share one bucket. */
  async isLockedOut(callerNumber: string | undefined): Promise<boolean> {
    const failures = await this.store.countPinFailures(this.callerKey(callerNumber), this.now() - HOUR_MS);
    return failures >= this.options.pinFailuresPerHour;
  }

  async recordFailure(callerNumber: string | undefined): Promise<void> {
    return this.store.recordPinFailure(this.callerKey(callerNumber), this.now());
  }

  async recordSuccess(pinId: string): Promise<void> {
    return this.store.markPinUsed(pinId, this.now());
  }

  /** Failures older than an hour no longer count; keeping them would only keep data. */
  async purgeOldFailures(): Promise<number> {
    return this.store.purgePinFailures(this.now() - HOUR_MS);
  }

  private callerKey(callerNumber: string | undefined): string {
    const digits = callerDigits(callerNumber);
    if (digits === undefined) return ANONYMOUS_BUCKET;
    return createHmac('sha256', this.hashKey).update(digits).digest('base64url').slice(0, 24);
  }
}
