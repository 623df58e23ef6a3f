import type { CallerIdMode, Language } from '../core/config';
import { toE164 } from '../core/phone-number';
import { callerDigits } from '../core/privacy';

const PHONE_WORD: Record<Language, string> = { de: 'Telefon', en: 'Phone' };

/** The telephone number in a header's first URI (sip:, sips: or tel:) with one, decoded; undefined without one. */
function numberInHeader(value: string | undefined): string | undefined {
  if (!value) return undefined;
  for (const entry of value.split(/,(?=\s*(?:"[^"]*"\s*)?<|\s*(?:sips?|tel):)/i)) {
    const uri = /<([^>]*)>/.exec(entry)?.[1] ?? entry.split(';')[0]!;
    const user = /^(?:sips?:([^@;>]+)@|tel:([^;>]+))/i.exec(uri.trim());
    const raw = user?.[1] ?? user?.[2];
    if (raw === undefined) continue;
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      // keep the raw user part
    }
    if (callerDigits(decoded) !== undefined) return decoded;
  }
  return undefined;
}

/**
 * The caller's number: from P-Asserted-Identity when the trunk sends one (it vouches for that
 * one; From is whatever the caller set), else from From. In E.164 when it is a telephone number
 * (core/phone-number.ts), so that "+49 4136 …", "0049…" and "04136…" are one caller; an
 * extension of a PBX stays as it is. Undefined when withheld.
 */
export function callerNumberOf(headers: { get(name: string): string | undefined }, countryCode: string): string | undefined {
  const number = numberInHeader(headers.get('P-Asserted-Identity')) ?? numberInHeader(headers.get('From'));
  if (number === undefined) return undefined;
  return toE164(number, countryCode) ?? number;
}

/** The number that was dialled: from the Request-URI, or from To where the provider puts it there (TRUNK_CALLED_NUMBER). */
export function calledNumberOf(req: { uri: string; get(name: string): string | undefined }, from: 'request-uri' | 'to', countryCode: string): string | undefined {
  const number = numberInHeader(from === 'to' ? req.get('To') : req.uri);
  return number === undefined ? undefined : (toE164(number, countryCode) ?? number);
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
