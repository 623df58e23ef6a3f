import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Host names to addresses (node:dns by default; tests pass their own). */
export type ResolveHost = (host: string) => Promise<string[]>;

export const resolveWithDns: ResolveHost = async (host) => (isIP(host) ? [host] : (await lookup(host, { all: true })).map((entry) => entry.address));
