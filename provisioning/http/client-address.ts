import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TrustedSources } from '../../core/config';
import { plainAddress } from '../../core/ip-address';

/**
 * Who a request comes from, as rate limits, connection caps and the request log count it.
 * X-Forwarded-For and Forwarded are headers anyone can send: they name the client only when the
 * socket's peer is a trusted reverse proxy (TRUSTED_PROXIES), and then the client is the
 * nearest address in the chain that is not itself a trusted proxy.
 */

export function isTrustedProxy(proxies: TrustedSources, address: string): boolean {
  if (proxies.entries.length === 0) return false;
  const family = isIP(address);
  return family !== 0 && proxies.blockList.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The addresses a request passed through, the farthest first, from Forwarded (RFC 7239) or else X-Forwarded-For. */
function forwardingChain(req: IncomingMessage): string[] {
  const forwarded = req.headers.forwarded;
  if (forwarded) {
    return forwarded
      .split(',')
      .map((element) => /(?:^|;)\s*for\s*=\s*"?\[?([^\]";,]+)\]?/i.exec(element)?.[1] ?? '')
      .map((value) => (isIP(value) === 0 && /^[\d.]+:\d+$/.test(value) ? value.slice(0, value.lastIndexOf(':')) : value));
  }
  const header = req.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

export function clientAddress(req: IncomingMessage, proxies: TrustedSources): string {
  const peer = plainAddress(req.socket.remoteAddress ?? 'unknown');
  if (!isTrustedProxy(proxies, peer)) return peer;
  const chain = forwardingChain(req).map(plainAddress);
  for (let index = chain.length - 1; index >= 0; index--) {
    const hop = chain[index]!;
    // A trusted proxy appends only addresses; anything else means the chain cannot be followed further.
    if (isIP(hop) === 0) return peer;
    if (!isTrustedProxy(proxies, hop)) return hop;
  }
  return peer;
}

/**
 * What a limit counts per: an IPv4 address, or an IPv6 /64 — one household or host gets a whole
 * /64 and can use a new address for every request.
 */
export function limitKey(address: string): string {
  if (!address.includes(':') || isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
