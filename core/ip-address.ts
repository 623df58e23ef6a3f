import { isIP } from 'node:net';

/** "::ffff:192.0.2.1" → "192.0.2.1" (an IPv4 peer on a dual-stack socket); a zone ("%eth0") is dropped. */
export function plainAddress(address: string): string {
  if (!address.includes(':')) return address;
  const unzoned = address.split('%')[0]!;
  return unzoned.startsWith('::ffff:') && isIP(unzoned.slice(7)) === 4 ? unzoned.slice(7) : unzoned;
}
