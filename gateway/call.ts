import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallerIdMode, Language, TrunkConfig, TrustedSources } from '../core/config';
import { maskCallerNumber } from '../core/privacy';
import type { LiveCallView, MuteOutcome } from '../provisioning/live-calls';
import { calledNumberOf, callerNumberOf, displayNameFor } from './caller-id';
import { outcomeOfHangUp, type CallOutcome, type CallState, type HangUpReason } from './call-outcome';
import type { CallRegistry, RegisteredCall } from './call-registry';
import { CallEnded, CallScope, DESTROY_WITHIN_MS } from './call-scope';
import { CONFERENCE_TIMING, ConferenceControls, type ConferenceEnd, type ConferenceTiming } from './conference-controls';
import { digitFromInfo, relayInfoDigit } from './dtmf-relay';
import { JigasiUnreachable, inviteJigasi, type JigasiPool } from './jigasi';
import { offerForJigasi } from './jigasi-offer';
import { askForRoomPassword } from './room-password';
import type { MediaLease, MediaServers } from './media-servers';
import { ANSWER_IN_ACK_WITHIN_MS, MediaSession, sessionExpiresSeconds, sessionTimerHeaders } from './media-session';
import type { PendingInvite } from './pending-invite';
import { PinEntry, type OpenPin, type PendingEntry, type PinResolver } from './pin-entry';
import type { PromptId, PromptSet } from './prompts';
import { screen } from './screening';
import type { Listening, SharedListening } from './shared-listening';
import { sipStatusOf, type MediaEndpoint, type MediaServer, type PlayCollectOptions, type SipDialog, type SipRequest, type SipResponse, type SipServer } from './sip';
import { callThroughTrunk } from './trunk-call';

/**
 * One phone call, from INVITE to the last BYE (SPEC §4). `run()` tells the story top to bottom:
 * screening → answering → collecting (pin-entry.ts) → connecting (jigasi.ts) → bridged
 * (conference-controls.ts) → ending. A dial-out (SPEC §6) opens differently: calling (through
 * a trunk, trunk-call.ts) → ringing → waiting-for-key (the callee presses 1) → connecting; one
 * that Jitsi Meet asked for arrives as Jigasi's INVITE, which is answered once the callee has
 * pressed 1, instead of an INVITE to Jigasi. Whatever ends a call from outside (caller BYE, CANCEL,
 * Jigasi BYE, an administrator's kick, FreeSWITCH or drachtio going away, a failure in one of
 * the call's units) goes through `hangUp`, which cancels the call's scope (call-scope.ts):
 * the story stops at its next await, and `tearDown` releases every dialog and endpoint once.
 */

const TRANSITIONS: Record<CallState, CallState[]> = {
  // `ending`: the call record could not be written (a full disk); the call still ends cleanly.
  screening: ['answering', 'calling', 'ending', 'ended'],
  answering: ['collecting', 'ending'],
  collecting: ['connecting', 'ending'],
  calling: ['ringing', 'waiting-for-key', 'ending'],
  ringing: ['waiting-for-key', 'ending'],
  'waiting-for-key': ['connecting', 'ending'],
  connecting: ['bridged', 'ending'],
  bridged: ['ending'],
  ending: ['ended'],
  ended: [],
};

/** A human presses at most a few keys a second; more SIP INFO digits than this are a flood. */
export const INFO_DIGITS_PER_SECOND = 10;
/** European ringback (425 Hz, 1 s on, 4 s off) while Jigasi sets the conference up. */
const RINGBACK = 'tone_stream://%(1000,4000,425);loops=-1';

type Opening = { kind: 'open'; callerEndpoint: MediaEndpoint; seat: Seat; readyAt: number } | { kind: 'end'; outcome: CallOutcome };

/** One key, any key, within DIAL_OUT_KEY_WITHIN_MS of the invitation's end. */
function confirmationKey(file: string): PlayCollectOptions {
  return { file, min: 1, max: 1, tries: 1, timeout: DIAL_OUT_KEY_WITHIN_MS, digitTimeout: DIAL_OUT_KEY_WITHIN_MS, terminators: 'none', invalidFile: 'silence_stream://250', regexp: '[0-9*#]', varName: 'dialin_dial_out_key' };
}

const FAREWELL: Record<ConferenceEnd, PromptId> = { ended: 'conference-ended', rejected: 'lobby-rejected', maintenance: 'service-ending' };

export interface CallRecords {
  insertCallRecord(record: { id: string; startedAt: number; endedAt: null; outcome: null; room: string | null; pinId: null; caller: string; direction: 'in' | 'out' }): Promise<void>;
  finishCallRecord(id: string, endedAt: number, outcome: CallOutcome, room: string | null, pinId: string | null): Promise<void>;
}

export interface CallSettings {
  trustedSources: TrustedSources;
  maxCalls: number;
  pinAttempts: number;
  callerIdMode: CallerIdMode;
  language: Language;
  jigasiRoomHeader: string;
  jigasiPasswordHeader: string;
  /** Where national numbers (0…) are, for E.164 (COUNTRY_CODE). */
  countryCode: string;
  /** What FreeSWITCH speaks (FREESWITCH_CODECS), lower-case: an offer with none of them gets 488 before FreeSWITCH sees it. */
  codecs: string[];
}

export interface CallTiming extends ConferenceTiming {
  /** How long a delayed offer's answer (or a re-INVITE without SDP's) may take to come in the ACK. */
  answerInAckWithinMs: number;
  /** How long teardown waits for each dialog and endpoint to end (call-scope.ts). */
  destroyWithinMs: number;
  /** Scales the pause of a slowed-down PIN entry (pin-entry.ts); 1 but in tests. */
  slowedPauseScale: number;
}

export const CALL_TIMING: CallTiming = { ...CONFERENCE_TIMING, destroyWithinMs: DESTROY_WITHIN_MS, slowedPauseScale: 1, answerInAckWithinMs: ANSWER_IN_ACK_WITHIN_MS };

/** What a call reports to /metrics. */
export interface CallMetrics {
  callsEnded: { inc(labels: { outcome: CallOutcome }): void };
  callsRefused: { inc(labels: { reason: string }): void };
  activeCalls: { inc(): void; dec(): void };
  pinToJigasiInvite: { observe(seconds: number): void };
  pinEntriesSlowed: { inc(): void };
  unexpectedErrors: { inc(labels: { boundary: 'call' | 'process' }): void };
}

/** What a caller joins the conference as: a PIN's room and role, or a dial-out's. */
export type Seat = Pick<OpenPin, 'room' | 'roomJid' | 'label' | 'role' | 'password' | 'startMuted' | 'listeners'> & { pinId: string | null };

/** A call the gateway places: whom (E.164), into which room, through which trunk. */
export interface DialOutOrder {
  number: string;
  seat: Seat;
  trunk: TrunkConfig;
}

/** An INVITE the gateway received, and the response to it. */
export interface IncomingInvite {
  req: SipRequest;
  res: SipResponse;
}

/**
 * A call that came in, or one the gateway places: for the API (the callee then joins through an
 * INVITE to Jigasi) or for Jitsi Meet's "invite by phone" (`jigasiInvite`: Jigasi already
 * waits in the room, and its INVITE is the conference leg).
 */
export type CallOrigin = ({ kind: 'dial-in' } & IncomingInvite) | { kind: 'dial-out'; order: DialOutOrder; jigasiInvite?: IncomingInvite };

/** What the callee of a dial-out hears when they answer, and how long they have for the key. */
const DIAL_OUT_KEY_WITHIN_MS = 15_000;

export interface CallDependencies {
  srf: SipServer;
  /** The FreeSWITCH servers; a call takes one for both of its channels. */
  media: MediaServers;
  resolver: PinResolver;
  records: CallRecords;
  registry: CallRegistry;
  jigasi: JigasiPool;
  prompts: PromptSet;
  settings: CallSettings;
  metrics: CallMetrics;
  logger: Logger;
  now?: () => number;
  timing?: CallTiming;
  /** The trunk (registered with) whose registrar or proxy an address belongs to. */
  trunkAt: (address: string) => TrunkConfig | undefined;
  /** Rooms whose listeners share one Jigasi leg. */
  listening: SharedListening;
}

export class Call implements RegisteredCall {
  readonly id = randomUUID();
  private state: CallState = 'screening';
  private readonly startedAt: number;
  /** For a dial-out: the number called. */
  private readonly callerNumber: string | undefined;
  private readonly trunk: TrunkConfig | undefined;
  private readonly req?: SipRequest;
  private readonly res?: SipResponse;
  /** Jigasi's INVITE, for a dial-out Jitsi Meet asked for. */
  private readonly jigasiInvite?: IncomingInvite;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly timing: CallTiming;
  private readonly scope: CallScope;

  private caller?: SipDialog;
  private mediaSession?: MediaSession;
  private callerEndpoint?: MediaEndpoint;
  private jigasiEndpoint?: MediaEndpoint;
  private jigasiEndpointCreation?: Promise<MediaEndpoint>;
  private jigasiDialog?: SipDialog;
  private pendingInvite?: PendingInvite;
  private releaseJigasi?: () => void;
  private mediaLease?: MediaLease;
  private pinEntry?: PinEntry;
  private seat?: Seat;
  private controls?: ConferenceControls;
  /** A listener on the room's shared Jigasi leg, instead of `controls`. */
  private listening?: Listening;
  private infoDigits = { windowStart: 0, count: 0 };

  constructor(
    private readonly deps: CallDependencies,
    private readonly origin: CallOrigin,
  ) {
    this.now = deps.now ?? Date.now;
    this.timing = deps.timing ?? CALL_TIMING;
    this.startedAt = this.now();
    if (origin.kind === 'dial-out') {
      this.callerNumber = origin.order.number;
      this.trunk = origin.order.trunk;
      this.seat = origin.order.seat;
      this.jigasiInvite = origin.jigasiInvite;
      this.log = deps.logger.child({ callId: this.id, direction: 'out', callee: maskCallerNumber(this.callerNumber), trunk: this.trunk.name, room: this.seat.room, askedBy: this.jigasiInvite ? 'jitsi-meet' : 'api' });
    } else {
      const { req } = origin;
      this.req = req;
      this.res = origin.res;
      this.callerNumber = callerNumberOf(req, deps.settings.countryCode);
      this.trunk = deps.trunkAt(req.source_address);
      // The called number is the municipality's own: no one's personal data.
      const called = calledNumberOf(req, this.trunk?.calledNumberFrom ?? 'request-uri', deps.settings.countryCode);
      this.log = deps.logger.child({ callId: this.id, caller: maskCallerNumber(this.callerNumber), called, trunk: this.trunk?.name });
    }
    this.scope = new CallScope(
      this.log,
      () => {
        deps.metrics.unexpectedErrors.inc({ boundary: 'call' });
        this.hangUp('failed');
      },
      this.timing.destroyWithinMs,
    );
    // drachtio emits "cancel" once; a listener attached after the first await would miss it.
    const req = this.req ?? this.jigasiInvite?.req;
    if (req) {
      this.scope.on(req, 'cancel', () => {
        req.canceled = true;
        this.hangUp('cancelled');
      });
    }
  }

  /** The whole call. Never rejects: every admitted call ends with a call record. */
  async run(): Promise<void> {
    if (this.req && !this.admitted(this.req, this.res!)) return;
    let outcome: CallOutcome;
    try {
      outcome = await this.story();
    } catch (error) {
      const hungUpBy = error instanceof CallEnded && error.reason !== 'finished' ? error.reason : undefined;
      if (!hungUpBy) {
        this.log.error({ err: error, state: this.state }, 'call failed');
        this.deps.metrics.unexpectedErrors.inc({ boundary: 'call' });
      }
      outcome = outcomeOfHangUp(hungUpBy ?? 'failed', this.state, this.pinEntry?.wrongPins ?? 0);
    }
    await this.tearDown(outcome);
  }

  /** SPEC §4 step 1: an INVITE that fails screening is refused before anything is made for it. */
  private admitted(req: SipRequest, res: SipResponse): boolean {
    const verdict = screen(
      {
        sourceAddress: req.source_address,
        fromTrunk: this.trunk !== undefined,
        userAgent: req.get('User-Agent'),
        hasContact: req.has('Contact'),
        sessionExpiresSeconds: sessionExpiresSeconds(req),
        activeCalls: this.deps.registry.size,
        mediaAvailable: this.deps.media.available(),
      },
      this.deps.settings.trustedSources,
      this.deps.settings.maxCalls,
    );
    if (verdict.admit) return true;
    this.transition('ended');
    this.scope.close();
    this.log.warn({ status: verdict.status, reason: verdict.reason, source: req.source_address }, 'INVITE refused');
    this.deps.metrics.callsRefused.inc({ reason: verdict.reason });
    res.send(verdict.status, undefined, 'headers' in verdict ? { headers: verdict.headers } : undefined);
    return false;
  }

  private async story(): Promise<CallOutcome> {
    this.deps.registry.add(this);
    this.deps.metrics.activeCalls.inc();
    await this.deps.records.insertCallRecord({
      id: this.id,
      startedAt: this.startedAt,
      endedAt: null,
      outcome: null,
      room: this.seat?.room ?? null,
      pinId: null,
      caller: maskCallerNumber(this.callerNumber),
      direction: this.origin.kind === 'dial-out' ? 'out' : 'in',
    });
    this.log.info(this.origin.kind === 'dial-out' ? 'dial-out placed' : 'call admitted');

    const opened = this.origin.kind === 'dial-out' ? await this.openDialOut(this.origin.order) : await this.openDialIn();
    if (opened.kind === 'end') return opened.outcome;
    const { callerEndpoint, seat, readyAt } = opened;

    this.transition('connecting');
    if (seat.role === 'listener' && seat.listeners === 'shared') return this.listenOnSharedLeg(seat, callerEndpoint);
    const controls = await this.connectToJigasi(seat, callerEndpoint, readyAt);
    if (controls === 'unreachable' || controls === 'wrong-password') {
      await this.announce(controls === 'unreachable' ? 'unreachable' : 'invalid-room-password', 'goodbye');
      return 'jigasi-failed';
    }

    this.transition('bridged');
    this.log.info({ room: seat.room, pinId: seat.pinId }, 'caller is in the conference');
    const end = await this.scope.guard(controls.ended);
    this.log.info({ reason: end }, 'the conference leg ended');
    await this.scope.destroy(this.jigasiDialog);
    await this.scope.destroy(this.jigasiEndpoint);
    await this.announce(FAREWELL[end], 'goodbye');
    return end === 'maintenance' ? 'service-stopped' : 'completed';
  }

  /** Answers, and takes the PIN: the seat it opens, or how the call ended without one. */
  private async openDialIn(): Promise<Opening> {
    this.transition('answering');
    const answered = await this.answer();
    if (!answered) return { kind: 'end', outcome: 'media-failed' };
    const { callerEndpoint, pinEntry, firstEntry } = answered;
    this.transition('collecting');
    const entered = await pinEntry.collect(firstEntry);
    if (entered.kind === 'end') return entered;
    this.seat = entered.pin;
    return { kind: 'open', callerEndpoint, seat: entered.pin, readyAt: pinEntry.pinEnteredAt };
  }

  /**
   * Calls the number through the trunk; once answered, says who calls and why, and waits for
   * the 1. No key within DIAL_OUT_KEY_WITHIN_MS or another key: a voicemail never enters a meeting.
   */
  private async openDialOut(order: DialOutOrder): Promise<Opening> {
    this.transition('calling');
    const calleeEndpoint = await this.endpointOnceMoreIfFailed('callee', async () => this.createCallerEndpoint());
    const offer = calleeEndpoint.local.sdp;
    try {
      await this.scope.own(
        callThroughTrunk(this.deps.srf, order.trunk, order.number, offer, {
          onRinging: () => {
            if (this.state !== 'calling') return;
            this.transition('ringing');
            if (this.jigasiInvite && !this.jigasiInvite.res.finalResponseSent) this.jigasiInvite.res.send(180);
          },
          register: (pending) => (this.pendingInvite = pending),
        }),
        (dialog) => {
          this.pendingInvite = undefined;
          this.adoptCallerDialog(dialog, calleeEndpoint, offer, dialog.remote.sdp, true);
        },
      );
    } catch (error) {
      const status = sipStatusOf(error);
      if (status === undefined || error instanceof CallEnded) throw error;
      this.log.info({ status }, 'the dial-out was not answered');
      return { kind: 'end', outcome: 'not-answered' };
    }
    await this.scope.guard(calleeEndpoint.modify(this.caller!.remote.sdp));
    this.log.info('answered');
    this.transition('waiting-for-key');
    this.jigasiEndpointCreation = this.endpointOnceMoreIfFailed('Jigasi leg', async () => this.createJigasiEndpoint());
    this.jigasiEndpointCreation.catch(() => undefined);
    const { digits } = await this.scope.guard(calleeEndpoint.playCollect(confirmationKey(this.deps.prompts.playlist('dial-out-invitation'))));
    if (digits !== '1') {
      this.log.info({ key: digits === undefined || digits === '' ? 'none' : 'other' }, 'the callee did not press 1');
      await this.announce('goodbye');
      return { kind: 'end', outcome: 'declined' };
    }
    return { kind: 'open', callerEndpoint: calleeEndpoint, seat: order.seat, readyAt: performance.now() };
  }

  /**
   * SPEC §4 step 3: an endpoint for the caller's SDP, then our 200 OK with FreeSWITCH's answer.
   * A parked FreeSWITCH channel drops every key it receives, and callers who know their PIN type
   * at once: the 200 OK leaves only when FreeSWITCH holds the first entry (none: locked out).
   */
  private async answer(): Promise<{ callerEndpoint: MediaEndpoint; pinEntry: PinEntry; firstEntry: PendingEntry | undefined } | undefined> {
    const callerEndpoint = await this.endpointOnceMoreIfFailed('caller', async () => this.createCallerEndpoint());
    const pinEntry = new PinEntry({
      caller: callerEndpoint,
      scope: this.scope,
      resolver: this.deps.resolver,
      prompts: this.deps.prompts,
      pinAttempts: this.deps.settings.pinAttempts,
      callerNumber: this.callerNumber,
      trunk: this.req!.source_address,
      log: this.log,
      onSlowedEntry: () => this.deps.metrics.pinEntriesSlowed.inc(),
      slowedPauseScale: this.timing.slowedPauseScale,
      announce: async (...prompts) => this.announce(...prompts),
    });
    this.pinEntry = pinEntry;
    const firstEntry = await pinEntry.start('greeting', 'enter-pin');
    const localSdp = callerEndpoint.local.sdp;
    const callerOffer = this.callerOffer();
    // Session-Expires as RFC 4028 §9 has it (drachtio-server arms its timer from it, and alone would leave out Require: timer).
    const headers = sessionTimerHeaders(this.req!);
    await this.scope.own(this.deps.srf.createUAS(this.req!, this.res!, { localSdp, headers }), (dialog) => this.adoptCallerDialog(dialog, callerEndpoint, localSdp, callerOffer, callerOffer === undefined));
    this.log.info({ offer: callerOffer === undefined ? 'delayed' : 'in the INVITE' }, 'answered');
    // A delayed offer: FreeSWITCH has the caller's media address only from the ACK's answer.
    if (callerOffer === undefined && !(await this.mediaSession!.answerFromAck())) return undefined;
    // The Jigasi leg's endpoint is made while the caller types, so the INVITE to Jigasi can
    // leave as soon as the PIN is checked (an endpoint takes FreeSWITCH ~50 ms to set up).
    this.jigasiEndpointCreation = this.endpointOnceMoreIfFailed('Jigasi leg', async () => this.createJigasiEndpoint());
    this.jigasiEndpointCreation.catch(() => undefined);
    return { callerEndpoint, pinEntry, firstEntry };
  }

  /** The caller's (or callee's) dialog: its end ends the call, its SIP INFO carries keys, its offers go to FreeSWITCH (media-session.ts). */
  private adoptCallerDialog(dialog: SipDialog, endpoint: MediaEndpoint, localSdp: string, remoteSdp: string | undefined, weOffered: boolean): void {
    this.caller = dialog;
    this.mediaSession = new MediaSession(dialog, endpoint, { localSdp, remoteSdp, weOffered, codecs: this.deps.settings.codecs, answerInAckWithinMs: this.timing.answerInAckWithinMs }, this.scope, this.log, () =>
      this.hangUp('media-lost'),
    );
    this.scope.on(dialog, 'destroy', () => {
      this.scope.markGone(dialog);
      this.hangUp('caller-hung-up');
    });
    this.scope.on(dialog, 'info', (req: SipRequest, res: SipResponse) => this.onCallerInfo(req, res));
  }

  /** The SDP of the caller's INVITE; undefined for a delayed offer (the answer comes in the ACK) and for a dial-out. */
  private callerOffer(): string | undefined {
    return this.req && this.req.body.trim() !== '' ? this.req.body : undefined;
  }

  /** With the caller's SDP; for a delayed offer or a dial-out, 3pcc: FreeSWITCH's SDP is the offer. */
  private async createCallerEndpoint(): Promise<MediaEndpoint> {
    const remoteSdp = this.callerOffer();
    return this.scope.own(this.media().createEndpoint(remoteSdp === undefined ? {} : { remoteSdp }), (created) => {
      this.callerEndpoint = created;
      this.scope.on(created, 'destroy', () => {
        this.scope.markGone(created);
        this.hangUp('media-lost');
      });
    });
  }

  /** With Jigasi's SDP when Jigasi's INVITE is the conference leg; else an offer for our INVITE to Jigasi. */
  private async createJigasiEndpoint(): Promise<MediaEndpoint> {
    return this.scope.own(this.media().createEndpoint({ bridgeOnly: true, remoteSdp: this.jigasiInvite?.req.body }), (created) => {
      this.jigasiEndpoint = created;
      this.scope.on(created, 'destroy', () => {
        this.scope.markGone(created);
        this.onJigasiGone();
      });
    });
  }

  /**
   * An endpoint FreeSWITCH did not connect back within drachtio-fsmrf's 4 s ("Connection
   * timeout") comes from a FreeSWITCH too busy just then, setting up the calls arriving: one
   * more is made, and a second failure ends the call.
   */
  private async endpointOnceMoreIfFailed(leg: string, make: () => Promise<MediaEndpoint>): Promise<MediaEndpoint> {
    try {
      return await this.scope.guard(make());
    } catch (error) {
      if (error instanceof CallEnded) throw error;
      this.log.warn({ err: error }, `the ${leg}'s endpoint failed; making it once more`);
      return this.scope.guard(make());
    }
  }

  /**
   * SPEC §4 steps 6–7. Resolves with the caller in the conference, or why not: no Jigasi answered,
   * or the room is locked and the caller could not give its password (room-password.ts).
   */
  private async connectToJigasi(seat: Seat, callerEndpoint: MediaEndpoint, readyAt: number): Promise<ConferenceControls | 'unreachable' | 'wrong-password'> {
    if (this.jigasiInvite) return this.answerJigasi(this.jigasiInvite, seat, callerEndpoint);
    const { prompts } = this.deps;
    const ringback = () => {
      // Not awaited: it plays until Jigasi answers and stopPlaying() ends it (its promise then never settles).
      callerEndpoint.play(prompts.playlist('connecting', RINGBACK)).catch(() => undefined);
    };
    ringback();
    const jigasiEndpoint = await this.scope.guard(this.jigasiEndpointCreation!);
    this.deps.metrics.pinToJigasiInvite.observe((performance.now() - readyAt) / 1000);
    let password = seat.password;
    for (let asked = 0; ; asked++) {
      const joined = await this.inviteJigasiInto(seat, password, callerEndpoint, jigasiEndpoint);
      if (joined !== 'refused-to-join') return joined;
      await this.scope.guard(callerEndpoint.stopPlaying());
      if (asked === this.deps.settings.pinAttempts) return 'wrong-password';
      this.log.info({ asked: asked + 1, storedPassword: seat.password !== null }, 'Jigasi could not join the room: asking the caller for its password');
      const typed = await askForRoomPassword(callerEndpoint, this.scope, prompts, asked);
      if (typed === undefined) return 'wrong-password';
      password = typed;
      ringback();
    }
  }

  /** One INVITE to Jigasi (each instance in turn) and, once answered, the bridge. */
  private async inviteJigasiInto(seat: Seat, password: string | null, callerEndpoint: MediaEndpoint, jigasiEndpoint: MediaEndpoint): Promise<ConferenceControls | 'unreachable' | 'refused-to-join'> {
    const { settings } = this.deps;
    let controls!: ConferenceControls;
    let dialog: SipDialog;
    try {
      ({ dialog } = await inviteJigasi(
        this.deps.srf,
        this.deps.jigasi,
        {
          localSdp: offerForJigasi(jigasiEndpoint.local.sdp, this.mediaSession?.codec()),
          roomJid: seat.roomJid,
          password,
          displayName: displayNameFor(seat.label, this.callerNumber, settings.callerIdMode, settings.language),
          roomHeader: settings.jigasiRoomHeader,
          passwordHeader: settings.jigasiPasswordHeader,
        },
        this.scope,
        this.log,
        (pending) => (this.pendingInvite = pending),
        (answer) => {
          this.pendingInvite = undefined;
          controls = this.adoptJigasiDialog(answer.dialog, answer.release, seat, callerEndpoint, jigasiEndpoint);
        },
      ));
    } catch (error) {
      if (!(error instanceof JigasiUnreachable)) throw error;
      if (error.refusedToJoin) return 'refused-to-join';
      this.log.error({ attempts: error.attempts }, 'no Jigasi reachable');
      await this.scope.guard(callerEndpoint.stopPlaying());
      return 'unreachable';
    }
    try {
      await this.scope.guard(jigasiEndpoint.modify(dialog.remote.sdp));
    } catch (error) {
      if (error instanceof CallEnded) throw error;
      // No audio could flow (no common codec, an SDP FreeSWITCH cannot read): to the caller, Jigasi is not reachable.
      this.log.error({ err: error }, "FreeSWITCH refused Jigasi's answer (SDP)");
      await this.scope.destroy(dialog);
      await this.scope.guard(callerEndpoint.stopPlaying());
      return 'unreachable';
    }
    await this.scope.guard(callerEndpoint.stopPlaying());
    await controls.beforeBridge();
    await this.scope.guard(callerEndpoint.bridge(jigasiEndpoint));
    controls.start();
    return controls;
  }

  /** A listener of a room whose listeners share one Jigasi leg (shared-listening.ts). */
  private async listenOnSharedLeg(seat: Seat, callerEndpoint: MediaEndpoint): Promise<CallOutcome> {
    // The endpoint made for an own Jigasi leg while the caller typed is not needed; had it
    // failed, that is no reason to end a listener's call.
    const unneeded = this.jigasiEndpointCreation!;
    this.scope.run('ending an unneeded endpoint', async () => this.scope.destroy(await unneeded.catch(() => undefined)));
    callerEndpoint.play(this.deps.prompts.playlist('connecting', RINGBACK)).catch(() => undefined);
    const lease = this.mediaLease!;
    const listening = await this.deps.listening.join({
      room: seat.room,
      roomJid: seat.roomJid,
      password: seat.password,
      caller: callerEndpoint,
      media: { server: this.media(), name: lease.name },
      scope: this.scope,
      log: this.log,
    });
    this.listening = listening;
    this.transition('bridged');
    this.log.info({ room: seat.room, pinId: seat.pinId }, 'listener is on the shared leg');
    const end = await this.scope.guard(listening.ended);
    this.log.info({ reason: end }, 'the shared leg ended for this listener');
    if (end === 'unreachable') {
      await this.announce('unreachable', 'goodbye');
      return 'jigasi-failed';
    }
    await this.announce(FAREWELL[end], 'goodbye');
    return end === 'maintenance' ? 'service-stopped' : 'completed';
  }

  /** A dial-out Jitsi Meet asked for: Jigasi's INVITE has waited (ringing) for the callee's 1. */
  private async answerJigasi(jigasiInvite: IncomingInvite, seat: Seat, callerEndpoint: MediaEndpoint): Promise<ConferenceControls> {
    const jigasiEndpoint = await this.scope.guard(this.jigasiEndpointCreation!);
    let controls!: ConferenceControls;
    await this.scope.own(this.deps.srf.createUAS(jigasiInvite.req, jigasiInvite.res, { localSdp: jigasiEndpoint.local.sdp }), (dialog) => {
      controls = this.adoptJigasiDialog(dialog, () => undefined, seat, callerEndpoint, jigasiEndpoint);
    });
    await controls.beforeBridge();
    await this.scope.guard(callerEndpoint.bridge(jigasiEndpoint));
    controls.start();
    return controls;
  }

  /** Takes the dialog Jigasi answered with (while the call lives: the scope's `own`), and the conference's controls with it. */
  private adoptJigasiDialog(dialog: SipDialog, release: () => void, seat: Seat, callerEndpoint: MediaEndpoint, jigasiEndpoint: MediaEndpoint): ConferenceControls {
    this.releaseJigasi = release;
    this.jigasiDialog = dialog;
    this.scope.on(dialog, 'destroy', () => {
      this.scope.markGone(dialog);
      this.onJigasiGone();
    });
    this.controls = new ConferenceControls({
      scope: this.scope,
      caller: callerEndpoint,
      jigasiEndpoint,
      jigasi: dialog,
      pin: seat,
      prompts: this.deps.prompts,
      timing: this.timing,
      log: this.log,
      now: this.now,
    });
    return this.controls;
  }

  private onJigasiGone(): void {
    if (this.state === 'bridged') this.controls?.jigasiLeft();
    else this.hangUp('jigasi-hung-up');
  }

  /** SIP INFO from the caller: DTMF for the PIN entry or for the conference, at most a human's pace. */
  private onCallerInfo(req: SipRequest, res: SipResponse): void {
    res.send(200);
    const digit = digitFromInfo(req.get('Content-Type'), req.body);
    if (digit === undefined) return;
    const now = this.now();
    if (now - this.infoDigits.windowStart >= 1000) this.infoDigits = { windowStart: now, count: 0 };
    if (++this.infoDigits.count > INFO_DIGITS_PER_SECOND) return;
    // Keys FreeSWITCH collects: the PIN, a dial-out's 1, a room password while connecting.
    if ((this.state === 'collecting' || this.state === 'waiting-for-key' || this.state === 'connecting') && this.callerEndpoint) relayInfoDigit(this.callerEndpoint, this.scope, this.log, digit);
    if (this.state === 'bridged') (this.controls ?? this.listening)?.onKey(digit);
  }

  /**
   * Plays prompts to the caller and waits for them to finish. The story only announces once the
   * caller's endpoint is there, and an endpoint that goes away hangs the call up: the guard stops it.
   */
  private async announce(...prompts: PromptId[]): Promise<void> {
    await this.scope.guard(this.callerEndpoint!.play(this.deps.prompts.playlist(...prompts)));
  }

  /**
   * Ends the call from outside; the story stops at its next await and its teardown cancels what
   * still rings. Once the call is ending, its scope is cancelled already: nothing more happens.
   */
  hangUp(reason: HangUpReason): void {
    if (this.scope.cancel(reason)) this.log.info({ reason, state: this.state }, 'hang-up');
  }

  /** The process stops after draining: a caller in the conference hears why before the BYE; any other call just ends. */
  endForMaintenance(): void {
    const inConference = this.controls ?? this.listening;
    if (this.state === 'bridged' && inConference) inConference.endForMaintenance();
    else this.hangUp('service-stopping');
  }

  /**
   * An administrator mutes or unmutes the caller. The call's scope owns the work: should it fail,
   * the call ends as any failure ends it, and the administrator learns the caller is gone.
   */
  async setMutedByAdmin(muted: boolean): Promise<MuteOutcome> {
    const controls = this.controls;
    if (this.state !== 'bridged' || !controls) return 'not-in-conference';
    const outcome = controls.setMutedByAdmin(muted);
    this.scope.run(muted ? 'muting for an administrator' : 'unmuting for an administrator', async () => outcome);
    return outcome.catch((): MuteOutcome => 'not-in-conference');
  }

  view(): LiveCallView {
    return {
      id: this.id,
      direction: this.origin.kind === 'dial-out' ? 'out' : 'in',
      room: this.seat?.room ?? null,
      pinId: this.seat?.pinId ?? null,
      label: this.seat?.label ?? null,
      role: this.seat?.role ?? null,
      caller: maskCallerNumber(this.callerNumber),
      state: this.state,
      muted: this.controls?.muted ?? false,
      startedAt: this.startedAt,
      ...(this.listening ? { sharedLeg: this.listening.legId } : {}),
    };
  }

  /**
   * The FreeSWITCH of this call: the least busy one, taken at the first channel and kept for the
   * second. It can go away during a call; endpoints then report "destroy" and the call ends.
   */
  private media(): MediaServer {
    this.mediaLease ??= this.deps.media.lease();
    if (this.mediaLease?.connected()) return this.mediaLease.server;
    this.hangUp('media-lost');
    throw new CallEnded('media-lost');
  }

  private transition(to: CallState): void {
    if (!TRANSITIONS[this.state].includes(to)) throw new Error(`call ${this.id}: no transition from ${this.state} to ${to}`);
    this.state = to;
  }

  private async tearDown(outcome: CallOutcome): Promise<void> {
    this.transition('ending');
    this.scope.cancel('finished');
    this.pendingInvite?.cancel();
    if (this.res && !this.res.finalResponseSent && !this.req!.canceled) {
      this.res.send(480, 'Temporarily Unavailable');
    }
    const jigasiInvite = this.jigasiInvite;
    if (jigasiInvite && !jigasiInvite.res.finalResponseSent && !jigasiInvite.req.canceled) {
      // Jitsi Meet shows the invited person as declined, or as not reached.
      if (outcome === 'declined') jigasiInvite.res.send(603, 'Decline');
      else jigasiInvite.res.send(480, 'Temporarily Unavailable');
    }
    this.listening?.leave();
    await Promise.all([
      this.scope.destroy(this.jigasiDialog),
      this.scope.destroy(this.caller),
      this.scope.destroy(this.jigasiEndpoint),
      this.scope.destroy(this.callerEndpoint),
    ]);
    this.releaseJigasi?.();
    this.mediaLease?.release();
    this.scope.close();
    this.deps.registry.remove(this.id);
    this.deps.metrics.activeCalls.dec();
    this.deps.metrics.callsEnded.inc({ outcome });
    this.transition('ended');
    const endedAt = this.now();
    try {
      await this.deps.records.finishCallRecord(this.id, endedAt, outcome, this.seat?.room ?? null, this.seat?.pinId ?? null);
    } catch (error) {
      this.log.error({ err: error }, 'could not finish the call record');
    }
    this.log.info({ outcome, seconds: Math.round((endedAt - this.startedAt) / 1000) }, 'call ended');
  }
}
