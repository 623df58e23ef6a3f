/**
 * npm run bench:guessing — how long a PIN guesser needs for the first hit at the most the gateway
 * allows: rotating caller numbers (the per-number lockout never bites), MAX_CALLS calls at once,
 * K active PINs of PIN_LENGTH digits, and the gateway's own slowdown past
 * PIN_FAILURES_GLOBAL_PER_HOUR (provisioning/pin-resolver.ts, the same function the calls use).
 * A model, not a load test: it prints figures and asserts nothing.
 *
 * The guesser's best play: every call types one PIN at once (type-ahead) and hangs up as soon as
 * the answer is "wrong"; below the budget a call has PIN_ATTEMPTS tries, past it one, after the
 * pause. In the steady state the wrong PINs of the last hour, the pause they cause and the rate
 * the calls allow agree: that rate is found by bisection.
 */
import { SLOWED_PAUSE_MAX_MS, slowedPauseMs } from '../provisioning/pin-resolver';

const HOUR_S = 3600;
const YEAR_H = 365 * 24;
/** From the 200 OK to the answer of a PIN typed at once: answer, eight keys, lookup (seconds). */
const SECONDS_PER_TRY = 3;
/** A legitimate caller: greeting heard in part, the PIN typed at a human pace (seconds). */
const LEGITIMATE_ENTRY_S = 12;

interface Scenario {
  maxCalls: number;
  pinLength: number;
  activePins: number;
  budgetPerHour: number;
}

/** Guesses an hour the gateway lets through in the steady state. */
function guessesPerHour(s: Scenario): number {
  const unslowed = (s.maxCalls * HOUR_S) / SECONDS_PER_TRY;
  if (unslowed <= s.budgetPerHour) return unslowed;
  const rateAt = (perHour: number) => (s.maxCalls * HOUR_S) / (SECONDS_PER_TRY + slowedPauseMs(perHour, s.budgetPerHour) / 1000);
  let low = s.budgetPerHour;
  let high = unslowed;
  for (let step = 0; step < 100; step++) {
    const middle = (low + high) / 2;
    if (rateAt(middle) > middle) low = middle;
    else high = middle;
  }
  return low;
}

function firstHitHours(s: Scenario): number {
  const space = 9 * 10 ** (s.pinLength - 1);
  return (space + 1) / (s.activePins + 1) / guessesPerHour(s);
}

function span(hours: number): string {
  if (hours >= YEAR_H) return `${(hours / YEAR_H).toFixed(1)} years`;
  if (hours >= 48) return `${(hours / 24).toFixed(1)} days`;
  return `${hours.toFixed(1)} hours`;
}

const defaults: Scenario = { maxCalls: 200, pinLength: 8, activePins: 100, budgetPerHour: 100 };

function line(s: Scenario): string {
  const perHour = guessesPerHour(s);
  const pauseS = slowedPauseMs(perHour, s.budgetPerHour) / 1000;
  const hours = firstHitHours(s);
  return (
    `MAX_CALLS ${String(s.maxCalls).padStart(3)}  PIN_LENGTH ${String(s.pinLength).padStart(2)}  ` +
    `${Math.round(perHour).toString().padStart(7)} guesses/h  pause ${pauseS.toFixed(0).padStart(2)} s  ` +
    `first hit after ${span(hours).padStart(12)}  ${hours >= YEAR_H ? 'meets' : 'misses'} the 1-year target`
  );
}

process.stdout.write(
  `guessing model: ${defaults.activePins} active PINs, PIN_FAILURES_GLOBAL_PER_HOUR ${defaults.budgetPerHour}, ` +
    `${SECONDS_PER_TRY} s per guess plus the pause (at most ${SLOWED_PAUSE_MAX_MS / 1000} s)\n`,
);
process.stdout.write('MAX_CALLS and PIN_LENGTH (defaults 200 and 8) decide it:\n');
for (const maxCalls of [200, 30, 10]) {
  for (const pinLength of [8, 10, 12]) process.stdout.write(`  ${line({ ...defaults, maxCalls, pinLength })}\n`);
}
const attackPause = slowedPauseMs(guessesPerHour(defaults), defaults.budgetPerHour) / 1000;
process.stdout.write(
  `a caller who mistypes once during such an attack: one try, redial, in on the second call after ` +
    `${Math.round(2 * (LEGITIMATE_ENTRY_S + attackPause))} s (${attackPause.toFixed(0)} s pause each); without an attack, the second try of the same call\n`,
);
