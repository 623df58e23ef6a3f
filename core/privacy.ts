/**
 * SPEC §5 in code: the one place that decides what of a caller number or a PIN may be shown.
 * Logs, call records, the API and the Jitsi display name all go through these helpers.
 */

/**
 * Digits of a caller number, or undefined for anonymous/withheld callers: "anonymous",
 * "restricted", "unknown" and the like carry no digit.
 */
export function callerDigits(callerNumber: string | undefined | null): string | undefined {
  if (callerNumber === undefined || callerNumber === null) return undefined;
  const digits = callerNumber.replace(/[^\d]/g, '');
  return digits === '' ? undefined : digits;
}

/** "…34" for a number, "anonymous" for a withheld one: the only form of a caller number we ever store or log. */
export function maskCallerNumber(callerNumber: string | undefined | null): string {
  const digits = callerDigits(callerNumber);
  if (digits === undefined) return 'anonymous';
  return `…${digits.slice(-2)}`;
}

/** Query parameters whose values are PINs or secrets; their values never reach a log line. */
const SECRET_QUERY_PARAMETERS = new Set(['id', 'pin', 'token', 'password', 'access_token']);

/** The request URL as it may be logged: secret query values replaced by "[redacted]". */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const query = new URLSearchParams(url.slice(queryStart + 1));
  for (const name of new Set(query.keys())) {
    if (SECRET_QUERY_PARAMETERS.has(name.toLowerCase())) query.set(name, '[redacted]');
  }
  return `${url.slice(0, queryStart)}?${query.toString()}`;
}

/** Object paths pino removes from every log line, wherever a PIN, password or token could appear. */
export const REDACTED_LOG_PATHS = [
  'pin',
  'password',
  'token',
  'secret',
  'digits',
  'callerNumber',
  '*.pin',
  '*.password',
  '*.token',
  '*.secret',
  '*.digits',
  '*.callerNumber',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];
