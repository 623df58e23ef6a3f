/**
 * Telephone numbers as the gateway compares, counts and dials them: E.164, "+494136123456".
 * Providers present them in their own ways: "+49 4136 123456", "0049 4136 …", national
 * "04136 123456", international without "+" ("494136123456"), with "-", "/", "(", ")", "."
 * between the digits. `countryCode` (COUNTRY_CODE, "49" for Germany) is where a national number is.
 * Pure; no clock, no configuration.
 */

const SEPARATORS = /[\s\-/().]/g;

/** The number in E.164, or undefined when it is not a telephone number (a name, a withheld "anonymous"). */
export function toE164(raw: string, countryCode: string): string | undefined {
  const compact = raw.trim().replace(/^tel:/i, '').replace(SEPARATORS, '');
  let digits: string;
  if (/^\+\d+$/.test(compact)) digits = compact.slice(1);
  else if (/^00\d+$/.test(compact)) digits = compact.slice(2);
  else if (/^0\d+$/.test(compact)) digits = `${countryCode}${compact.slice(1)}`;
  else if (/^\d+$/.test(compact) && compact.startsWith(countryCode) && compact.length > 9) digits = compact;
  else return undefined;
  // E.164: at most 15 digits, and a country code never starts with 0.
  if (digits.length < 5 || digits.length > 15 || digits.startsWith('0')) return undefined;
  return `+${digits}`;
}
