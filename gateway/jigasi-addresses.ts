import type { Logger } from 'pino';
import { plainAddress } from '../core/ip-address';
import { resolveWithDns, type ResolveHost } from './resolve-host';
import { hostOf } from './trunk-registration';

/**
 * Which INVITEs come from a Jigasi of JIGASI_URIS: Jitsi Meet's "invite by phone" makes Jigasi
 * call out through the SIP server its account names, and that is the gateway. The hosts are
 * resolved at start and every REFRESH_MS after (a container gets a new address when it is
 * recreated); the check itself is synchronous, so nothing delays the INVITE's handling and a
 * CANCEL right behind it is never missed.
 */

const REFRESH_MS = 60_000;

export class JigasiAddresses {
  private readonly hosts: string[];
  /** The last addresses each host resolved to; kept while a lookup fails. */
  private readonly addressesOf = new Map<string, string[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    uris: readonly string[],
    private readonly log: Logger,
    private readonly resolveHost: ResolveHost = resolveWithDns,
  ) {
    this.hosts = [...new Set(uris.map(hostOf))];
  }

  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  has(address: string): boolean {
    const plain = plainAddress(address);
    for (const addresses of this.addressesOf.values()) if (addresses.includes(plain)) return true;
    return false;
  }

  /** Resolves every host once more; resolves when done (tests wait for it). */
  async resolved(): Promise<void> {
    await Promise.all(
      this.hosts.map(async (host) => {
        try {
          this.addressesOf.set(host, await this.resolveHost(host));
        } catch (error) {
          this.log.warn({ host, err: error }, "a Jigasi's address could not be resolved; its dial-outs are treated as incoming calls until it can");
        }
      }),
    );
  }

  private refresh(): void {
    // resolved() catches every lookup's failure itself.
    this.resolved().catch(() => undefined);
  }
}
