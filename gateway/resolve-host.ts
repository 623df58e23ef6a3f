import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Host names to addresses (node:dns by default; tests pass their own). */
export type ResolveHost = (host: string) => Promise<string[]>;

export const resolveWithDns: ResolveHost = async (host) => (isIP(host) ? [host] : (await lookup(host, { all: true })).map((entry) => entry.address));

/** An IPv4 peer on a dual-stack socket shows as ::ffff:192.0.2.1. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
