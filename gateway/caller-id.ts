import type { CallerIdMode, Language } from '../core/config';
import { callerDigits } from '../core/privacy';
import type { ParsedNameAddr } from './sip';

const PHONE_WORD: Record<Language, string> = { de: 'Telefon', en: 'Phone' };

/** The caller's number from the From header's user part, or undefined when withheld or unparseable. */
export function callerNumberOf(from: ParsedNameAddr | undefined): string | undefined {
  if (!from) return undefined;
  const user = /^sips?:([^@;]+)@/i.exec(from.uri)?.[1];
  if (user === undefined) return undefined;
  let decoded = user;
  try {
    decoded = decodeURIComponent(user);
  } catch {
    // keep the raw user part
  }
  return callerDigits(decoded) === undefined ? undefined : decoded;
}

/**
 * The name the Jitsi room shows for a caller: the PIN's label when there is one, otherwise
 * what CALLER_ID_MODE allows of the number. Only CALLER_ID_MODE=full lets the number through.
 */
export function displayNameFor(label: string | null, callerNumber: string | undefined, mode: CallerIdMode, language: Language): string {
  if (label) return label;
  const word = PHONE_WORD[language];
  const digits = callerDigits(callerNumber);
  if (mode === 'anonymous' || digits === undefined) return word;
  if (mode === 'full') return callerNumber!.replace(/[^\d+]/g, '');
  // ASCII dots, not the ellipsis of maskCallerNumber: drachtio-server (sofia-sip) answers a BYE
  // whose To display name contains "…" with 400 Bad To Header, so Jigasi could not hang up.
  return `${word} ...${digits.slice(-2)}`;
}
