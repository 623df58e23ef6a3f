import { randomInt } from 'node:crypto';

/**
 * What makes a PIN acceptable (SPEC §3). Pure functions: no storage, no clock.
 * Uniqueness is the directory's job, since it needs the store.
 */

const CUSTOM_PIN_MIN_LENGTH = 6;
const CUSTOM_PIN_MAX_LENGTH = 12;

/** Draws a digit 0–9 (or 1–9 for the first position) from a cryptographic source. */
export type DigitSource = (minInclusive: number, maxExclusive: number) => number;

/**
 * All one digit, a run up or down (wrapping 9→0 counts), or a short block repeated
 * ("121212", "12341234"): the PINs a stranger tries first.
 */
export function isTrivialPin(pin: string): boolean {
  const digits = [...pin].map(Number);
  const stepsAll = (step: number) =>
    digits.every((digit, index) => index === 0 || digit === (digits[index - 1]! + step + 10) % 10);
  if (stepsAll(0) || stepsAll(1) || stepsAll(-1)) return true;
  for (let period = 2; period <= pin.length / 2; period++) {
    if (pin.length % period === 0 && pin === pin.slice(0, period).repeat(pin.length / period)) return true;
  }
  return false;
}

export function generatePin(length: number, digitSource: DigitSource = randomInt): string {
  for (;;) {
    let pin = String(digitSource(1, 10));
    while (pin.length < length) pin += String(digitSource(0, 10));
    if (!isTrivialPin(pin)) return pin;
  }
}

export type CustomPinProblem = 'format' | 'leading-zero' | 'trivial';

/** Why an administrator's own PIN is refused, or undefined when it is acceptable. */
export function customPinProblem(pin: string): CustomPinProblem | undefined {
  const pattern = new RegExp(`^\\d{${CUSTOM_PIN_MIN_LENGTH},${CUSTOM_PIN_MAX_LENGTH}}$`);
  if (!pattern.test(pin)) return 'format';
  if (pin.startsWith('0')) return 'leading-zero';
  if (isTrivialPin(pin)) return 'trivial';
  return undefined;
}

export const CUSTOM_PIN_PROBLEM_MESSAGES: Record<CustomPinProblem, string> = {
  format: `pin must be ${CUSTOM_PIN_MIN_LENGTH} to ${CUSTOM_PIN_MAX_LENGTH} digits`,
  'leading-zero': 'pin must not start with 0 (Jitsi Meet shows the PIN as a number)',
  trivial: 'pin is too easy to guess (one digit repeated, a run like 123456, or a repeated block)',
};
