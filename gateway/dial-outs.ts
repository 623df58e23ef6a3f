import type { Logger } from 'pino';
import type { TrunkConfig } from '../core/config';
import { toE164 } from '../core/phone-number';
import { maskCallerNumber } from '../core/privacy';
import type { DialOutPlacement, DialOutRefusal, DialOutRoom, DialOutState, DialOuts, DialOutView } from '../provisioning/dial-outs';
import { normaliseRoomName, roomJid } from '../provisioning/room-name';
import type { LiveCallView } from '../provisioning/live-calls';
import type { CallRecord } from '../provisioning/store/store';
import { Call, type CallDependencies, type IncomingInvite } from './call';
import { calledNumberOf } from './caller-id';
import type { CallState } from './call-outcome';
import type { CallRegistry } from './call-registry';
import type { DialOutPolicy, DialOutRefusal as PolicyRefusal } from './dial-out-policy';

/**
 * Places the calls of POST /api/v1/rooms/{room}/dial-outs, and those Jitsi Meet asks for with
 * "invite by phone" (Jigasi's INVITE for a number): the number checked against the toll-fraud
 * safeguards (dial-out-policy.ts), then a Call with a dial-out origin (call.ts) through a
 * registered trunk. Works once the gateway has attached its connections; until then (and
 * while FreeSWITCH is away) a dial-out is refused as unavailable.
 */

export interface DialOutMetrics {
  dialOutsRefused: { inc(labels: { reason: string }): void };
  unexpectedErrors: { inc(labels: { boundary: 'call' | 'process' }): void };
}

export interface DialOutSettings {
  countryCode: string;
  maxCalls: number;
  /** Jigasi's INVITE names the room in this header (JIGASI_ROOM_HEADER), as a JID of this MUC domain. */
  jigasiRoomHeader: string;
  mucDomain: string;
}

type Admission = { admitted: true; number: string; trunk: TrunkConfig; dependencies: CallDependencies } | { admitted: false; refusal: DialOutRefusal; detail: string };

/** How Jigasi hears a refusal; Jitsi Meet shows any of them as a failed invitation. */
const SIP_STATUS_OF_REFUSAL: Record<DialOutRefusal, number> = { 'number-not-allowed': 403, 'too-many': 403, unavailable: 503 };

const STATE_SHOWN: Record<CallState, DialOutState> = {
  screening: 'calling',
  answering: 'calling',
  collecting: 'calling',
  calling: 'calling',
  ringing: 'ringing',
  'waiting-for-key': 'waiting-for-key',
  // The 1 was pressed; the callee is in the meeting once Jigasi has answered.
  connecting: 'waiting-for-key',
  bridged: 'bridged',
  ending: 'ended',
  ended: 'ended',
};

/**
 * The number Jigasi calls: the user part of its Request-URI, or its `number` parameter. A Jigasi
 * without a registrar (as jigasi-config/ ships it) cannot put the number in the user part: Jitsi's
 * SIP stack makes `sip:<number>` of it, a host it cannot resolve (ProtocolProviderServiceSipImpl
 * #parseAddressString, seen on the real Jigasi); its OUTBOUND_PREFIX puts it into `;number=`.
 */
function numberJigasiCalls(req: IncomingInvite['req'], countryCode: string): string {
  return calledNumberOf(req, 'request-uri', countryCode) ?? /;number=(\+?\d+)(?:[;?>]|$)/i.exec(req.uri.trim())?.[1] ?? '';
}

/**
 * Jitsi Meet passes the number on as digits only, international without "+" (a number typed
 * without "+" gets a 1 in front, for North America: jitsi-meet's invite functions); "+" and
 * "00" forms, as an OUTBOUND_PREFIX of Jigasi may make them, are taken as they are.
 */
function internationalFromJitsiMeet(number: string): string {
  return /^\d+$/.test(number) && !number.startsWith('0') ? `+${number}` : number;
}

export class DialOutService implements DialOuts {
  private callDependencies?: CallDependencies;
  /** Dial-outs past their checks but not yet running: they count against DIALOUT_MAX_CONCURRENT too. */
  private admitting = 0;

  constructor(
    private readonly policy: DialOutPolicy,
    private readonly settings: DialOutSettings,
    private readonly registry: CallRegistry,
    private readonly records: { getCallRecord(id: string): Promise<CallRecord | undefined> },
    /** The trunk to call through: a registered one, or undefined when none is. */
    private readonly trunk: () => TrunkConfig | undefined,
    private readonly metrics: DialOutMetrics,
    private readonly log: Logger,
  ) {}

  /** The gateway's connections, from the moment it runs until it stops (undefined). */
  attach(dependencies: CallDependencies | undefined): void {
    this.callDependencies = dependencies;
  }

  async place({ number: raw, label, room }: { number: string; label: string | null; room: DialOutRoom }): Promise<DialOutPlacement> {
    const admission = await this.admit(raw);
    if (!admission.admitted) return { placed: false, refusal: admission.refusal, detail: admission.detail };
    const { number, trunk, dependencies } = admission;
    const call = this.run(new Call(dependencies, { kind: 'dial-out', order: { number, trunk, seat: { ...room, label, role: 'speaker', listeners: 'separate', pinId: null } } }));
    return { placed: true, dialOut: this.viewOf(call.view()) };
  }

  /**
   * Jitsi Meet's "invite by phone": Jigasi's INVITE for the number in its Request-URI, the room
   * in its room header. Refused with a SIP status on the same safeguards as the API's.
   */
  acceptFromJigasi(jigasiInvite: IncomingInvite): void {
    this.acceptInvitation(jigasiInvite).catch((error: unknown) => {
      this.metrics.unexpectedErrors.inc({ boundary: 'call' });
      this.log.error({ err: error }, 'a dial-out from Jigasi failed before it started');
      jigasiInvite.res.send(500);
    });
  }

  private async acceptInvitation(jigasiInvite: IncomingInvite): Promise<void> {
    const { req, res } = jigasiInvite;
    const room = normaliseRoomName(req.get(this.settings.jigasiRoomHeader) ?? '', this.settings.mucDomain);
    if (!room.ok) {
      this.metrics.dialOutsRefused.inc({ reason: 'room' });
      this.log.warn({ problem: room.message }, 'dial-out from Jigasi refused: not a room of this gateway');
      res.send(403, 'Unknown Room');
      return;
    }
    const admission = await this.admit(internationalFromJitsiMeet(numberJigasiCalls(req, this.settings.countryCode)));
    if (!admission.admitted) {
      res.send(SIP_STATUS_OF_REFUSAL[admission.refusal]);
      return;
    }
    const { number, trunk, dependencies } = admission;
    const seat = { room: room.room, roomJid: roomJid(room.room, this.settings.mucDomain), label: null, role: 'speaker' as const, password: null, startMuted: false, listeners: 'separate' as const, pinId: null };
    this.run(new Call(dependencies, { kind: 'dial-out', order: { number, trunk, seat }, jigasiInvite }));
  }

  async get(id: string): Promise<DialOutView | undefined> {
    const live = this.registry.list().find((call) => call.id === id);
    if (live) return live.direction === 'out' ? this.viewOf(live) : undefined;
    const record = await this.records.getCallRecord(id);
    if (!record || record.direction !== 'out' || record.room === null) return undefined;
    return {
      id: record.id,
      room: record.room,
      label: null,
      number: record.caller,
      state: record.endedAt === null ? 'calling' : 'ended',
      ...(record.outcome === null ? {} : { outcome: record.outcome }),
      startedAt: record.startedAt,
      ...(record.endedAt === null ? {} : { endedAt: record.endedAt }),
    };
  }

  hangUp(id: string): boolean {
    const live = this.registry.list().find((call) => call.id === id);
    return live?.direction === 'out' && this.registry.hangUp(id);
  }

  /** The checks of every dial-out; an admitted one must be started before the next await. */
  private async admit(raw: string): Promise<Admission> {
    const number = toE164(raw, this.settings.countryCode);
    const numberRefusal = number === undefined ? 'not-allowed' : this.policy.numberRefusal(number);
    if (numberRefusal) return this.refuse(numberRefusal, number ?? raw, 'number-not-allowed', 'this number may not be called (DIALOUT_ALLOWED, deny list)');
    const trunk = this.trunk();
    const dependencies = this.callDependencies;
    if (!trunk) return this.refuse('no-trunk', number!, 'unavailable', 'no trunk is registered to call through');
    if (!dependencies || !dependencies.media.available()) return this.refuse('media-unavailable', number!, 'unavailable', 'FreeSWITCH or drachtio-server is not connected');
    if (this.registry.size >= this.settings.maxCalls) return this.refuse('busy', number!, 'unavailable', 'MAX_CALLS calls are in progress');
    this.admitting++;
    let capRefusal;
    try {
      capRefusal = await this.policy.admit(number!, this.activeDialOuts() + this.admitting - 1);
    } finally {
      this.admitting--;
    }
    if (capRefusal) return this.refuse(capRefusal, number!, 'too-many', capRefusal === 'hourly-cap' ? 'DIALOUT_MAX_PER_HOUR dial-outs were placed in the last hour' : 'DIALOUT_MAX_CONCURRENT dial-outs are in progress');
    return { admitted: true, number: number!, trunk, dependencies };
  }

  private run(call: Call): Call {
    call.run().catch((error: unknown) => {
      this.metrics.unexpectedErrors.inc({ boundary: 'call' });
      this.log.error({ err: error }, 'a dial-out failed outside its own error handling');
    });
    return call;
  }

  private activeDialOuts(): number {
    return this.registry.list().filter((call) => call.direction === 'out').length;
  }

  private viewOf(call: LiveCallView): DialOutView {
    return { id: call.id, room: call.room!, label: call.label, number: call.caller, state: STATE_SHOWN[call.state as CallState], startedAt: call.startedAt };
  }

  private refuse(reason: PolicyRefusal | 'no-trunk' | 'media-unavailable' | 'busy', number: string, refusal: DialOutRefusal, detail: string): Admission {
    this.metrics.dialOutsRefused.inc({ reason });
    this.log.warn({ number: maskCallerNumber(number), reason }, 'dial-out refused');
    return { admitted: false, refusal, detail };
  }
}
