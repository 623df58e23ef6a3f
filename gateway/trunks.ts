import type { Logger } from 'pino';
import type { TrunkConfig } from '../core/config';
import type { Readiness } from '../core/readiness';
import type { TrunkStates, TrunkStatus } from '../provisioning/trunk-states';
import { plainAddress } from '../core/ip-address';
import { resolveWithDns, type ResolveHost } from './resolve-host';
import { REGISTRATION_TIMING, TrunkRegistration, hostOf, type RegistrationTiming, type SendRegister } from './trunk-registration';

/**
 * The trunks the gateway registers with: their registrations, what /readyz, /metrics and
 * GET /api/v1/trunks say of them, and which INVITEs come from them (from a registrar's or
 * outbound proxy's address: trusted like SIP_TRUSTED_SOURCES).
 */

export interface TrunkMetrics {
  trunkRegistered: { set(labels: { trunk: string }, value: number): void };
  trunkRegistrations: { inc(labels: { trunk: string; status: string }): void };
}

export class Trunks implements TrunkStates {
  private readonly registrations: TrunkRegistration[];
  /** Address → trunk, for the registrars and proxies of every trunk. */
  private readonly byAddress = new Map<string, TrunkConfig>();
  private started = false;

  constructor(
    trunks: TrunkConfig[],
    private readonly readiness: Readiness,
    private readonly metrics: TrunkMetrics,
    private readonly log: Logger,
    private readonly resolveHost: ResolveHost = resolveWithDns,
    timing: RegistrationTiming = REGISTRATION_TIMING,
  ) {
    this.registrations = trunks.map((trunk) => {
      readiness.markDown(`trunk ${trunk.name}`, 'not registered yet');
      return new TrunkRegistration(trunk, log, (status) => this.report(status), timing);
    });
  }

  /**
   * drachtio-server is connected: the first time, every trunk starts registering through `send`;
   * after a reconnection, a trunk that is not registered tries again at once.
   */
  connected(send: SendRegister): void {
    if (this.started) {
      for (const registration of this.registrations) registration.retryNow();
      return;
    }
    this.started = true;
    for (const registration of this.registrations) {
      this.learnAddresses(registration.trunk).catch((error: unknown) =>
        this.log.warn({ trunk: registration.trunk.name, err: error }, "the trunk's addresses could not be resolved; its INVITEs need SIP_TRUSTED_SOURCES"),
      );
      registration.start(send);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.registrations.map(async (registration) => registration.stop()));
  }

  /** The first trunk that is registered now: the one dial-outs go through. */
  registered(): TrunkConfig | undefined {
    return this.registrations.find((registration) => registration.status().state === 'registered')?.trunk;
  }

  list(): TrunkStatus[] {
    return this.registrations.map((registration) => registration.status());
  }

  /** The trunk an INVITE from `address` came over, if any. */
  trunkAt(address: string): TrunkConfig | undefined {
    return this.byAddress.get(plainAddress(address));
  }

  private async learnAddresses(trunk: TrunkConfig): Promise<void> {
    const hosts = [...trunk.registrars, ...(trunk.outboundProxy ? [trunk.outboundProxy] : [])].map(hostOf);
    for (const host of hosts) {
      for (const address of await this.resolveHost(host)) this.byAddress.set(address, trunk);
    }
  }

  private report(status: TrunkStatus): void {
    const name = `trunk ${status.name}`;
    this.metrics.trunkRegistered.set({ trunk: status.name }, status.state === 'registered' ? 1 : 0);
    if (status.state !== 'off' && status.lastStatus !== null) this.metrics.trunkRegistrations.inc({ trunk: status.name, status: String(status.lastStatus) });
    if (status.state === 'registered') this.readiness.markUp(name);
    else this.readiness.markDown(name, status.lastStatus === null ? 'not registered' : `REGISTER at ${status.registrar} answered ${status.lastStatus}`);
  }
}
