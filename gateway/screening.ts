import { isIP } from 'node:net';
import type { TrustedSources } from '../core/config';
import { plainAddress } from '../core/ip-address';

/** What happens to an INVITE before any media is touched (SPEC §4 steps 1–2). */
export type ScreeningVerdict =
  | { admit: true }
  | { admit: false; status: 400 | 403 | 486 | 503; reason: 'untrusted-source' | 'scanner' | 'no-contact' | 'busy' | 'media-unavailable' }
  /** RFC 4028 §9: a session timer shorter than drachtio-server's Min-SE, which it would lengthen silently. */
  | { admit: false; status: 422; reason: 'session-interval-too-small'; headers: { 'Min-SE': string } };

/** drachtio-server's Min-SE: it refuses shorter refreshes with 422 itself. */
export const MIN_SESSION_EXPIRES_SECONDS = 90;

/** User agents of SIP scanners: they get no call, and no hint that a service is here. */
const SCANNER_USER_AGENT = /friendly-scanner|sipvicious|sipcli|sip-cli|sipsak|sundayddr|iWar|sip-scan|VaxSIPUserAgent|pplsip|smap/i;

export function isScanner(userAgent: string | undefined): boolean {
  return userAgent !== undefined && SCANNER_USER_AGENT.test(userAgent);
}

export function isTrustedSource(sources: TrustedSources, address: string): boolean {
  if (sources.entries.length === 0) return true;
  const unmapped = plainAddress(address);
  const family = isIP(unmapped);
  if (family === 0) return false;
  return sources.blockList.check(unmapped, family === 4 ? 'ipv4' : 'ipv6');
}

export interface ScreeningInput {
  sourceAddress: string;
  /** The INVITE came from the registrar or proxy of a trunk the gateway registers with: trusted. */
  fromTrunk: boolean;
  userAgent: string | undefined;
  /**
   * RFC 3261 requires a Contact in an INVITE; drachtio-srf's createUAS refuses to answer one
   * without it, which would only show after the caller had typed the PIN to early media.
   */
  hasContact: boolean;
  /** The Session-Expires header's interval, when the INVITE asks for a session timer. */
  sessionExpiresSeconds: number | undefined;
  activeCalls: number;
  mediaAvailable: boolean;
}

export function screen(input: ScreeningInput, sources: TrustedSources, maxCalls: number): ScreeningVerdict {
  if (!input.fromTrunk && !isTrustedSource(sources, input.sourceAddress)) return { admit: false, status: 403, reason: 'untrusted-source' };
  if (isScanner(input.userAgent)) return { admit: false, status: 403, reason: 'scanner' };
  if (!input.hasContact) return { admit: false, status: 400, reason: 'no-contact' };
  if (input.sessionExpiresSeconds !== undefined && input.sessionExpiresSeconds < MIN_SESSION_EXPIRES_SECONDS) {
    return { admit: false, status: 422, reason: 'session-interval-too-small', headers: { 'Min-SE': String(MIN_SESSION_EXPIRES_SECONDS) } };
  }
  if (input.activeCalls >= maxCalls) return { admit: false, status: 486, reason: 'busy' };
  if (!input.mediaAvailable) return { admit: false, status: 503, reason: 'media-unavailable' };
  return { admit: true };
}
