import type { Logger } from 'pino';
import type { TrunkConfig } from '../core/config';
import type { TrunkState, TrunkStatus } from '../provisioning/trunk-states';

/**
 * One SIP trunk's registration (SPEC §6 "Trunks"): REGISTER through drachtio-server, which
 * answers the provider's digest challenge (drachtio-srf, lib/drachtio-agent.js and
 * lib/digest-client.js, with `auth`); refreshed at half the lifetime the registrar grants;
 * after a failure (a challenge the credentials do not meet, 403, 5xx, no answer) retried later
 * and later, up to a cap, and at the next registrar when there is one; unregistered on stop.
 */


export interface RegisterRequest {
  uri: string;
  proxy?: string;
  headers: Record<string, string>;
  /** `realm`: answer only a challenge of this realm (TRUNK_REALM); any when unset. */
  auth: { username: string; password: string; realm?: string };
}

/** The registrar's final answer; 408 when none came in time. `expires`: the lifetime it granted, when it said. */
export interface RegisterAnswer {
  status: number;
  expires?: number;
}

export type SendRegister = (request: RegisterRequest) => Promise<RegisterAnswer>;

export const REGISTRATION_TIMING = {
  /** The first retry after a failure; each next one waits twice as long. */
  retryFirstMs: 5_000,
  retryMaxMs: 300_000,
  /** A registration is refreshed when this share of its lifetime has passed. */
  refreshAt: 0.5,
  /** Never sooner than this, whatever a registrar grants. */
  refreshMinMs: 15_000,
  /** How long unregistering may hold up the service's stop. */
  unregisterWithinMs: 2_000,
};

/** The status a REGISTER counts as when it could not be sent at all (drachtio-server away). */
export const NOT_SENT = 503;

export type RegistrationTiming = typeof REGISTRATION_TIMING;

/** sip:sip.provider.de;transport=tcp → sip.provider.de */
export function hostOf(uri: string): string {
  return /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>]+)/i.exec(uri)?.[1]?.replace(/^\[|\]$/g, '') ?? uri;
}

/** sip:user@[2001:db8::1]:5080;transport=tcp → [2001:db8::1]:5080: where a request to the URI goes. */
export function hostPortOf(uri: string): string {
  return /^sips?:(?:[^@]*@)?((?:\[[^\]]+\]|[^:;>]+)(?::\d+)?)/i.exec(uri)?.[1] ?? uri;
}

function withTransport(uri: string, transport: TrunkConfig['transport']): string {
  if (transport === 'udp' || /;transport=/i.test(uri)) return uri;
  return `${uri};transport=${transport}`;
}

export class TrunkRegistration {
  private state: TrunkState = 'off';
  private lastStatus: number | null = null;
  private since: number;
  private expiresAt: number | null = null;
  private registrarIndex = 0;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private running = false;
  /** A REGISTER is out and its answer not in yet. */
  private sending = false;
  private send: SendRegister = async () => ({ status: NOT_SENT });

  constructor(
    readonly trunk: TrunkConfig,
    private readonly log: Logger,
    /** Told every time the status changes (readiness, metrics). */
    private readonly onChange: (status: TrunkStatus) => void,
    private readonly timing: RegistrationTiming = REGISTRATION_TIMING,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  status(): TrunkStatus {
    return {
      name: this.trunk.name,
      registrar: this.trunk.registrars[this.registrarIndex]!,
      state: this.state,
      lastStatus: this.lastStatus,
      since: this.since,
      expiresAt: this.expiresAt,
    };
  }

  /** Registers through `send` (drachtio-server) from now on. */
  start(send: SendRegister): void {
    this.send = send;
    this.running = true;
    this.attempt();
  }

  /** A trunk that is not registered tries now (drachtio-server is back), with the backoff started over. */
  retryNow(): void {
    if (!this.running || this.sending || this.state === 'registered') return;
    this.failures = 0;
    clearTimeout(this.timer);
    this.attempt();
  }

  /** Stops refreshing and unregisters (Expires: 0) when registered, waiting a bounded time for the answer. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    if (this.state !== 'registered') return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timing.unregisterWithinMs)));
    const unregistering = this.send(this.request(0)).then(
      (answer) => this.log.info({ trunk: this.trunk.name, status: answer.status }, 'trunk unregistered'),
      (error: unknown) => this.log.warn({ trunk: this.trunk.name, err: error }, 'unregistering the trunk failed'),
    );
    await Promise.race([unregistering, late]);
    clearTimeout(timer);
    this.change('off', this.lastStatus, null);
  }

  private attempt(): void {
    this.registerOnce().catch((error: unknown) => {
      this.log.error({ trunk: this.trunk.name, err: error }, 'the REGISTER could not be sent');
      this.failed(NOT_SENT);
    });
  }

  private async registerOnce(): Promise<void> {
    this.sending = true;
    const answer = await this.send(this.request(this.trunk.expires)).finally(() => (this.sending = false));
    if (!this.running) return;
    if (answer.status >= 200 && answer.status < 300) {
      const granted = answer.expires ?? this.trunk.expires;
      this.failures = 0;
      const refreshed = this.state === 'registered';
      this.change('registered', answer.status, this.now() + granted * 1000);
      const fields = { trunk: this.trunk.name, registrar: this.status().registrar, granted };
      if (refreshed) this.log.debug(fields, 'trunk registration refreshed');
      else this.log.info(fields, 'trunk registered');
      this.schedule(Math.max(this.timing.refreshMinMs, granted * 1000 * this.timing.refreshAt));
      return;
    }
    this.failed(answer.status);
  }

  private failed(status: number): void {
    if (!this.running) return;
    this.failures++;
    const registrar = this.status().registrar;
    // A registration the registrar still holds goes on until it expires; the trunk is failing from then.
    const stillHeld = this.state === 'registered' && this.expiresAt !== null && this.expiresAt > this.now();
    this.change(stillHeld ? 'registered' : 'failing', status, stillHeld ? this.expiresAt : null);
    this.registrarIndex = (this.registrarIndex + 1) % this.trunk.registrars.length;
    const delay = Math.min(this.timing.retryMaxMs, this.timing.retryFirstMs * 2 ** (this.failures - 1));
    this.log.warn({ trunk: this.trunk.name, registrar, status, retryInMs: delay, next: this.status().registrar }, 'trunk registration failed');
    this.schedule(delay);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.attempt(), ms);
  }

  private change(state: TrunkState, status: number | null, expiresAt: number | null): void {
    if (state !== this.state) this.since = this.now();
    this.state = state;
    this.lastStatus = status;
    this.expiresAt = expiresAt;
    this.onChange(this.status());
  }

  private request(expires: number): RegisterRequest {
    const { trunk } = this;
    const registrar = trunk.registrars[this.registrarIndex]!;
    const aor = `sip:${trunk.user}@${hostOf(registrar)}`;
    return {
      uri: withTransport(registrar, trunk.transport),
      proxy: trunk.outboundProxy,
      headers: {
        From: `<${aor}>`,
        To: `<${aor}>`,
        // drachtio-server puts its own address where "localhost" stands.
        Contact: `<sip:${trunk.user}@localhost${trunk.transport === 'udp' ? '' : `;transport=${trunk.transport}`}>`,
        Expires: String(expires),
      },
      auth: { username: trunk.authUser, password: trunk.password, realm: trunk.realm },
    };
  }
}
