import type { Logger } from 'pino';
import type { CallScope } from './call-scope';
import { FreeswitchRefused, type MediaEndpoint } from './sip';

/**
 * DTMF sent as SIP INFO. Two bodies are in use: application/dtmf-relay ("Signal=5\r\nDuration=160")
 * and application/dtmf (just "5"). Anything else yields no digit.
 */
const DIGIT = /^[0-9*#A-D]$/;

export function digitFromInfo(contentType: string | undefined, body: string | undefined): string | undefined {
  if (!contentType || body === undefined) return undefined;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  let signal: string | undefined;
  if (type === 'application/dtmf-relay') {
    signal = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(body)?.[1];
  } else if (type === 'application/dtmf') {
    signal = body.trim();
  }
  if (signal === undefined) return undefined;
  const normalised = signal === '10' ? '*' : signal === '11' ? '#' : signal.toUpperCase();
  return DIGIT.test(normalised) ? normalised : undefined;
}

/**
 * Hands a SIP INFO digit to FreeSWITCH as if it had come as RFC 2833 (uuid_recv_dtmf), so the
 * keypad entry running on the channel (the PIN, a dial-out's 1) takes it like any other key.
 */
export function relayInfoDigit(endpoint: MediaEndpoint, scope: CallScope, log: Logger, digit: string): void {
  scope.run('passing a SIP INFO digit to FreeSWITCH', async () => {
    try {
      await scope.guard(endpoint.command('uuid_recv_dtmf', `${endpoint.uuid} ${digit}`));
    } catch (error) {
      if (!(error instanceof FreeswitchRefused)) throw error;
      log.warn({ reply: error.reply }, 'FreeSWITCH did not take a SIP INFO digit');
    }
  });
}
