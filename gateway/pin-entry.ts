import type { Logger } from 'pino';
import type { GuessingPressure, PinResolution } from '../provisioning/pin-resolver';
import type { CallOutcome } from './call-outcome';
import type { CallScope } from './call-scope';
import type { PromptId, PromptSet } from './prompts';
import type { MediaEndpoint, PlayCollectOptions, PlayCollectResult } from './sip';

/**
 * PIN entry (SPEC §4 steps 3–5): greeting, the PIN by keypad with type-ahead, PIN_ATTEMPTS
 * tries, lockout of a caller number that guessed too often, and the PIN's validity window.
 * While callers over all get too many PINs wrong (PIN_FAILURES_GLOBAL_PER_HOUR: a guesser
 * rotating caller numbers), every entry waits before its answer and a call gets one try.
 * FreeSWITCH's play_and_get_digits collects the keys; SIP INFO digits are handed to it.
 */

/** The PIN digits a caller may type: SPEC §3 allows 6–12. One more is collected to tell "too long". */
const PIN_PATTERN = '^\\d{6,12}$';
const MAX_COLLECTED_DIGITS = 13;
const FIRST_DIGIT_TIMEOUT_MS = 10_000;
const BETWEEN_DIGITS_TIMEOUT_MS = 5_000;

/** What the call asks of the PIN directory while a caller types. */
export interface PinResolver {
  resolve(digits: string): Promise<PinResolution>;
  isLockedOut(callerNumber: string | undefined, trunk: string): Promise<boolean>;
  recordFailure(callerNumber: string | undefined, trunk: string): Promise<void>;
  recordSuccess(pinId: string): Promise<void>;
  guessingPressure(): Promise<GuessingPressure>;
}

export type OpenPin = Extract<PinResolution, { found: true }>;

export type PinOutcome = { kind: 'open'; pin: OpenPin } | { kind: 'end'; outcome: CallOutcome };

/** A keypad entry FreeSWITCH holds; `result` settles when the caller has typed it or timed out. */
export interface PendingEntry {
  result: Promise<PlayCollectResult>;
}

type Entry = { kind: 'pin'; digits: string } | { kind: 'malformed' } | { kind: 'nothing' };

export interface PinEntryParts {
  caller: MediaEndpoint;
  scope: CallScope;
  resolver: PinResolver;
  prompts: PromptSet;
  pinAttempts: number;
  callerNumber: string | undefined;
  /** Where the INVITE came from: withheld numbers are counted per trunk. */
  trunk: string;
  log: Logger;
  /** Counts an entry that was slowed down (/metrics). */
  onSlowedEntry: () => void;
  slowedPauseScale: number;
  /** Plays prompts to the caller and waits for them to finish. */
  announce: (...prompts: PromptId[]) => Promise<void>;
}

export class PinEntry {
  private wrong = 0;
  /** performance.now() when the accepted PIN's "#" came back from FreeSWITCH. */
  private enteredAt = 0;
  private flushingKeys: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: PinEntryParts) {}

  /** Wrong PINs of a possible shape this call typed: a guesser, not a caller who typed nothing. */
  get wrongPins(): number {
    return this.wrong;
  }

  get pinEnteredAt(): number {
    return this.enteredAt;
  }

  /**
   * One entry through FreeSWITCH's play_and_get_digits, unless the caller is locked out: the
   * prompts play until the first key, digits typed during them count (type-ahead), "#" ends the
   * entry. Resolves once FreeSWITCH holds the collect, so no key typed from then on is lost.
   */
  async start(...prompts: PromptId[]): Promise<PendingEntry | undefined> {
    const { caller, scope, resolver, callerNumber, trunk } = this.parts;
    if (await scope.guard(resolver.isLockedOut(callerNumber, trunk))) return undefined;
    await scope.guard(this.flushingKeys);
    const result = caller.playCollect(keypadEntry(this.parts.prompts.playlist(...prompts), MAX_COLLECTED_DIGITS, PIN_PATTERN, 'dialin_pin'));
    // Awaited by collect() through the scope; a call that ends first never reads it.
    result.catch(() => undefined);
    await scope.guard(caller.commandsTaken());
    return { result };
  }

  /** Reads entries until a PIN opens a room or the tries are used up. */
  async collect(firstEntry: PendingEntry | undefined): Promise<PinOutcome> {
    const { scope, resolver, log, announce } = this.parts;
    let pending = firstEntry;
    let enteredAnything = false;
    let attemptsAllowed = this.parts.pinAttempts;
    for (let attempt = 1; ; attempt++) {
      if (!pending) {
        log.warn('caller is locked out after too many wrong PINs');
        await announce('service-unavailable', 'goodbye');
        return { kind: 'end', outcome: 'locked-out' };
      }
      const entry = await this.read(pending);
      let retryPrompt: PromptId;
      if (entry.kind === 'nothing') {
        log.info({ attempt }, 'no PIN entered');
        retryPrompt = 'no-input';
      } else {
        enteredAnything = true;
        if (await this.slowedDown()) attemptsAllowed = attempt;
        const resolution = entry.kind === 'pin' ? await scope.guard(resolver.resolve(entry.digits)) : { found: false as const };
        if (resolution.found && resolution.openNow) {
          resolver.recordSuccess(resolution.pinId).catch((error: unknown) => log.error({ err: error }, 'could not record the PIN as used'));
          log.info({ attempt, pinId: resolution.pinId, room: resolution.room }, 'PIN accepted');
          return { kind: 'open', pin: resolution };
        }
        if (resolution.found) {
          log.info({ pinId: resolution.pinId }, 'PIN valid but not open now');
          await announce('not-open', 'goodbye');
          return { kind: 'end', outcome: 'not-open' };
        }
        // Only a wrong PIN of a possible shape is a guess; a stray * or a too-long entry is not.
        if (entry.kind === 'pin') {
          this.wrong++;
          await scope.guard(resolver.recordFailure(this.parts.callerNumber, this.parts.trunk));
        }
        log.info({ attempt, shape: entry.kind }, 'PIN refused');
        retryPrompt = 'invalid-pin';
      }
      if (attempt >= attemptsAllowed) break;
      pending = await this.start(retryPrompt, 'enter-pin');
    }
    await announce('attempts-exhausted', 'goodbye');
    return { kind: 'end', outcome: enteredAnything ? 'pin-failed' : 'answered-no-pin' };
  }

  /** Waits before the answer while guessing goes on over all callers; true when it did. */
  private async slowedDown(): Promise<boolean> {
    const { scope, resolver, log } = this.parts;
    const pressure = await scope.guard(resolver.guessingPressure());
    if (!pressure.slowed) return false;
    this.parts.onSlowedEntry();
    log[pressure.worthAWarning ? 'warn' : 'debug'](
      { failuresLastHour: pressure.failuresLastHour, pauseMs: pressure.pauseMs },
      'wrong PINs over all callers past PIN_FAILURES_GLOBAL_PER_HOUR: PIN entries wait for their answer, one try per call',
    );
    await scope.pause(pressure.pauseMs * this.parts.slowedPauseScale);
    return true;
  }

  /** Leftover digits are flushed so a flood or a too-long entry does not spill into the next attempt. */
  private async read(pending: PendingEntry): Promise<Entry> {
    const { caller, scope } = this.parts;
    const result = await scope.guard(pending.result);
    this.enteredAt = performance.now();
    // Awaited before the next entry only: a right PIN must not wait for it.
    this.flushingKeys = caller.command('uuid_flush_dtmf', caller.uuid);
    this.flushingKeys.catch(() => undefined);
    if (result.digits) return { kind: 'pin', digits: result.digits };
    if (result.invalidDigits) return { kind: 'malformed' };
    return { kind: 'nothing' };
  }
}

/**
 * One keypad entry through play_and_get_digits: the prompt stops at the first key, "#" ends
 * the entry, SPEC §4's 10 s for the first key and 5 s between keys.
 */
export function keypadEntry(file: string, max: number, regexp: string, varName: string): PlayCollectOptions {
  return {
    file,
    min: 1,
    max,
    tries: 1,
    timeout: FIRST_DIGIT_TIMEOUT_MS,
    digitTimeout: BETWEEN_DIGITS_TIMEOUT_MS,
    terminators: '#',
    invalidFile: 'silence_stream://250',
    regexp,
    varName,
  };
}
