import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallerIdMode, Language, TrustedSources } from '../core/config';
import { maskCallerNumber } from '../core/privacy';
import type { LiveCallView } from '../provisioning/live-calls';
import type { PinResolution } from '../provisioning/pin-resolver';
import type { CallOutcome } from '../provisioning/store/store';
import { callerNumberOf, displayNameFor } from './caller-id';
import type { CallRegistry, RegisteredCall } from './call-registry';
import { digitFromInfo } from './dtmf-relay';
import { InCallKeys } from './in-call-keys';
import {
  HEARTBEAT_BODY,
  LOBBY_ALLOWED,
  LOBBY_JOINED,
  LOBBY_LEFT,
  LOBBY_REJECTED,
  ROOM_ACCESS_REQUEST,
  muteRequestBody,
  muteResponseBody,
  parseJigasiInfo,
  roomPasswordBody,
} from './jigasi-info';
import { JigasiUnreachable, inviteJigasi, type JigasiPool, type PendingInvite } from './jigasi';
import type { PromptId, PromptSet } from './prompts';
import { screen } from './screening';
import type { MediaEndpoint, MediaServer, PlayCollectOptions, PlayCollectResult, SipDialog, SipRequest, SipResponse, SipServer } from './sip';

/**
 * One phone call, from INVITE to the last BYE (SPEC §4). `run()` tells the story top to
 * bottom; everything that can end a call from outside (caller BYE, CANCEL, Jigasi BYE, an
 * administrator's kick, FreeSWITCH or drachtio going away) goes through `hangUp`, which makes
 * the story stop at its next await. `tearDown` then releases every dialog and endpoint once.
 */

export type CallState = 'screening' | 'answering' | 'collecting' | 'connecting' | 'bridged' | 'ending' | 'ended';

const TRANSITIONS: Record<CallState, CallState[]> = {
  screening: ['answering', 'ended'],
  answering: ['collecting', 'ending'],
  collecting: ['connecting', 'ending'],
  connecting: ['bridged', 'ending'],
  bridged: ['ending'],
  ending: ['ended'],
  ended: [],
};

export type HangUpReason = 'caller-hung-up' | 'cancelled' | 'jigasi-hung-up' | 'kicked' | 'media-lost' | 'service-stopping' | 'signalling-lost';

/** The PIN digits a caller may type: SPEC §3 allows 6–12. One more is collected to tell "too long". */
const PIN_PATTERN = '^\\d{6,12}$';
const MAX_COLLECTED_DIGITS = 13;
const MAX_ROOM_PASSWORD_DIGITS = 32;
const FIRST_DIGIT_TIMEOUT_MS = 10_000;
const BETWEEN_DIGITS_TIMEOUT_MS = 5_000;
/** A human presses at most a few keys a second; more SIP INFO digits than this are a flood. */
const INFO_DIGITS_PER_SECOND = 10;
/** The lobby prompt repeats with this pause while a moderator has not decided. */
const LOBBY_REPEAT_MS = 12_000;
/** How long an unmute waits for Jigasi's muteResponse; without one the caller is unmuted. */
const MUTE_RESPONSE_TIMEOUT_MS = 5_000;
/** European ringback (425 Hz, 1 s on, 4 s off) while Jigasi sets the conference up. */
const RINGBACK = 'tone_stream://%(1000,4000,425);loops=-1';

/**
 * Several files as one FreeSWITCH playback. fsmrf would otherwise run a "set playback_delimiter"
 * application first, and every application costs two events carrying all channel variables.
 */
function playlist(files: string[]): string {
  return files.length === 1 ? files[0]! : `file_string://${files.join('!')}`;
}

export interface PinDirectoryForCalls {
  resolve(digits: string): Promise<PinResolution>;
  isLockedOut(callerNumber: string | undefined): Promise<boolean>;
  recordFailure(callerNumber: string | undefined): Promise<void>;
  recordSuccess(pinId: string): Promise<void>;
}

export interface CallRecords {
  insertCallRecord(record: { id: string; startedAt: number; endedAt: null; outcome: null; room: null; pinId: null; caller: string }): Promise<void>;
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
}

/** What a call reports to /metrics. */
export interface CallMetrics {
  callsEnded: { inc(labels: { outcome: CallOutcome }): void };
  callsRefused: { inc(labels: { reason: string }): void };
  activeCalls: { inc(): void; dec(): void };
  pinToJigasiInvite: { observe(seconds: number): void };
}

export interface CallDependencies {
  srf: SipServer;
  /** The connected media server, or undefined while FreeSWITCH is down. */
  mediaServer: () => MediaServer | undefined;
  directory: PinDirectoryForCalls;
  records: CallRecords;
  registry: CallRegistry;
  jigasi: JigasiPool;
  prompts: PromptSet;
  settings: CallSettings;
  metrics: CallMetrics;
  logger: Logger;
  now?: () => number;
}

/** Thrown into the story when the call was hung up from outside. */
class CallEnded extends Error {
  constructor(readonly reason: HangUpReason) {
    super(`call ended: ${reason}`);
    this.name = 'CallEnded';
  }
}

/** A keypad entry FreeSWITCH holds; `result` settles when the caller has typed it or timed out. */
interface PendingEntry {
  result: Promise<PlayCollectResult>;
}

type PinOutcome = { kind: 'open'; pin: Extract<PinResolution, { found: true }> } | { kind: 'end'; outcome: CallOutcome };

interface Destroyable {
  destroy(): Promise<unknown>;
}

export class Call implements RegisteredCall {
  readonly id = randomUUID();
  private state: CallState = 'screening';
  private readonly startedAt: number;
  private readonly callerNumber: string | undefined;
  private readonly log: Logger;
  private readonly now: () => number;

  private caller?: SipDialog;
  private callerEndpoint?: MediaEndpoint;
  private jigasiEndpoint?: MediaEndpoint;
  private jigasiEndpointCreation?: Promise<MediaEndpoint>;
  private jigasiDialog?: SipDialog;
  private pendingInvite?: PendingInvite;
  private releaseJigasi?: () => void;
  /** Dialogs and endpoints the far side already ended: destroying them again would send a second BYE. */
  private readonly gone = new WeakSet<object>();
  private readonly destroyed = new WeakSet<object>();

  private pin?: Extract<PinResolution, { found: true }>;
  /** performance.now() when the accepted PIN's "#" came back from FreeSWITCH. */
  private pinEnteredAt = 0;
  private flushingKeys: Promise<unknown> = Promise.resolve();
  private wrongPins = 0;
  private hangUpReason?: HangUpReason;
  private rejectEnded!: (error: CallEnded) => void;
  private readonly ended: Promise<never>;
  private resolveConferenceEnd!: () => void;
  private readonly conferenceEnd = new Promise<void>((resolve) => (this.resolveConferenceEnd = resolve));
  private infoDigits = { windowStart: 0, count: 0 };
  private muted = false;
  private readonly inCallKeys = new InCallKeys();
  private readonly muteRequests = new Map<string, (ok: boolean) => void>();
  private lobbyReminder?: NodeJS.Timeout;
  private messagesToJigasi = 0;
  /** Why the conference leg ended: Jigasi left, or a moderator refused the caller in the lobby. */
  private conferenceEndReason: 'ended' | 'rejected' | 'wrong-password' = 'ended';
  private askingForPassword = false;
  private passwordAsks = 0;

  constructor(
    private readonly deps: CallDependencies,
    private readonly req: SipRequest,
    private readonly res: SipResponse,
  ) {
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.callerNumber = callerNumberOf(safeFrom(req));
    this.log = deps.logger.child({ callId: this.id, caller: maskCallerNumber(this.callerNumber) });
    this.ended = new Promise<never>((_resolve, reject) => (this.rejectEnded = reject));
    this.ended.catch(() => undefined);
    // drachtio emits "cancel" once; a listener attached after the first await would miss it.
    req.on('cancel', () => {
      req.canceled = true;
      this.hangUp('cancelled');
    });
  }

  /** The whole call. Never rejects: every admitted call ends with a call record. */
  async run(): Promise<void> {
    const verdict = screen(
      {
        sourceAddress: this.req.source_address,
        userAgent: this.req.get('User-Agent'),
        activeCalls: this.deps.registry.size,
        mediaAvailable: this.deps.mediaServer() !== undefined,
      },
      this.deps.settings.trustedSources,
      this.deps.settings.maxCalls,
    );
    if (!verdict.admit) {
      this.transition('ended');
      this.log.warn({ status: verdict.status, reason: verdict.reason, source: this.req.source_address }, 'INVITE refused');
      this.deps.metrics.callsRefused.inc({ reason: verdict.reason });
      this.res.send(verdict.status);
      return;
    }
    let outcome: CallOutcome = 'cancelled';
    try {
      outcome = await this.story();
    } catch (error) {
      if (error instanceof CallEnded) outcome = this.outcomeOfHangUp(error.reason);
      else {
        this.log.error({ err: error, state: this.state }, 'call failed');
        outcome = this.outcomeOfHangUp('media-lost');
      }
    } finally {
      await this.tearDown(outcome);
    }
  }

  private async story(): Promise<CallOutcome> {
    this.deps.registry.add(this);
    this.deps.metrics.activeCalls.inc();
    await this.deps.records.insertCallRecord({
      id: this.id,
      startedAt: this.startedAt,
      endedAt: null,
      outcome: null,
      room: null,
      pinId: null,
      caller: maskCallerNumber(this.callerNumber),
    });
    this.log.info('call admitted');

    this.transition('answering');
    const firstEntry = await this.answer();

    this.transition('collecting');
    const pin = await this.collectPin(firstEntry);
    if (pin.kind === 'end') return pin.outcome;
    this.pin = pin.pin;

    this.transition('connecting');
    if (!(await this.connectToJigasi())) {
      await this.announce('unreachable', 'goodbye');
      return 'jigasi-failed';
    }

    this.transition('bridged');
    this.log.info({ room: this.pin.room, pinId: this.pin.pinId }, 'caller is in the conference');
    await this.guard(this.conferenceEnd);
    this.stopLobbyReminder();
    this.log.info({ reason: this.conferenceEndReason }, 'the conference leg ended');
    await this.destroyOnce(this.jigasiDialog);
    await this.destroyOnce(this.jigasiEndpoint);
    const farewell = ({ ended: 'conference-ended', rejected: 'lobby-rejected', 'wrong-password': 'invalid-room-password' } as const)[this.conferenceEndReason];
    await this.announce(farewell, 'goodbye');
    return 'completed';
  }

  /**
   * SPEC §4 step 3: an endpoint for the caller's SDP, then our 200 OK with FreeSWITCH's answer.
   * A parked FreeSWITCH channel drops every key it receives, and callers who know their PIN type
   * at once: the 200 OK leaves only when FreeSWITCH holds the first entry (none: locked out).
   */
  private async answer(): Promise<PendingEntry | undefined> {
    await this.endpointOnceMoreIfFailed('caller', async () => this.createCallerEndpoint());
    const firstEntry = await this.startEntry(['greeting', 'enter-pin']);
    await this.own(this.deps.srf.createUAS(this.req, this.res, { localSdp: this.callerEndpoint!.local.sdp }), (dialog) => {
      this.caller = dialog;
      dialog.on('destroy', () => {
        this.gone.add(dialog);
        this.hangUp('caller-hung-up');
      });
      dialog.on('info', (req, res) => this.onCallerInfo(req, res));
    });
    this.log.info('answered');
    // The Jigasi leg's endpoint is made while the caller types, so the INVITE to Jigasi can
    // leave as soon as the PIN is checked (an endpoint takes FreeSWITCH ~50 ms to set up).
    this.jigasiEndpointCreation = this.endpointOnceMoreIfFailed('Jigasi leg', async () => this.createJigasiEndpoint());
    this.jigasiEndpointCreation.catch(() => undefined);
    return firstEntry;
  }

  private async createCallerEndpoint(): Promise<MediaEndpoint> {
    return this.own(this.media().createEndpoint({ remoteSdp: this.req.body }), (created) => {
      this.callerEndpoint = created;
      created.on('destroy', () => {
        this.gone.add(created);
        this.hangUp('media-lost');
      });
    });
  }

  private async createJigasiEndpoint(): Promise<MediaEndpoint> {
    return this.own(this.media().createEndpoint({ bridgeOnly: true }), (created) => {
      this.jigasiEndpoint = created;
      created.on('destroy', () => {
        this.gone.add(created);
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
      return await this.guard(make());
    } catch (error) {
      if (error instanceof CallEnded) throw error;
      this.log.warn({ err: error }, `the ${leg}'s endpoint failed; making it once more`);
      return this.guard(make());
    }
  }

  /** SPEC §4 steps 3–5: greeting, PIN by keypad with type-ahead, lockout, validity. */
  private async collectPin(firstEntry: PendingEntry | undefined): Promise<PinOutcome> {
    let pending = firstEntry;
    let enteredAnything = false;
    for (let attempt = 1; ; attempt++) {
      if (!pending) {
        this.log.warn('caller is locked out after too many wrong PINs');
        await this.announce('service-unavailable', 'goodbye');
        return { kind: 'end', outcome: 'locked-out' };
      }
      const entry = await this.readEntry(pending);
      let retryPrompt: PromptId;
      if (entry.kind === 'nothing') {
        this.log.info({ attempt }, 'no PIN entered');
        retryPrompt = 'no-input';
      } else {
        enteredAnything = true;
        const resolution = entry.kind === 'pin' ? await this.guard(this.deps.directory.resolve(entry.digits)) : { found: false as const };
        if (resolution.found && resolution.openNow) {
          this.deps.directory.recordSuccess(resolution.pinId).catch((error: unknown) => this.log.error({ err: error }, 'could not record the PIN as used'));
          this.log.info({ attempt, pinId: resolution.pinId, room: resolution.room }, 'PIN accepted');
          return { kind: 'open', pin: resolution };
        }
        if (resolution.found) {
          this.log.info({ pinId: resolution.pinId }, 'PIN valid but not open now');
          await this.announce('not-open', 'goodbye');
          return { kind: 'end', outcome: 'not-open' };
        }
        // Only a wrong PIN of a possible shape is a guess; a stray * or a too-long entry is not.
        if (entry.kind === 'pin') {
          this.wrongPins++;
          await this.guard(this.deps.directory.recordFailure(this.callerNumber));
        }
        this.log.info({ attempt, shape: entry.kind }, 'PIN refused');
        retryPrompt = 'invalid-pin';
      }
      if (attempt >= this.deps.settings.pinAttempts) break;
      pending = await this.startEntry([retryPrompt, 'enter-pin']);
    }
    await this.announce('attempts-exhausted', 'goodbye');
    return { kind: 'end', outcome: enteredAnything ? 'pin-failed' : 'answered-no-pin' };
  }

  /**
   * One entry through FreeSWITCH's play_and_get_digits, unless the caller is locked out: the
   * prompts play until the first key, digits typed during them count (type-ahead), "#" ends the
   * entry. Resolves once FreeSWITCH holds the collect, so no key typed from then on is lost.
   */
  private async startEntry(prompts: PromptId[]): Promise<PendingEntry | undefined> {
    if (await this.guard(this.deps.directory.isLockedOut(this.callerNumber))) return undefined;
    const endpoint = this.callerEndpoint!;
    await this.guard(this.flushingKeys);
    const result = endpoint.playCollect(
      keypadEntry(playlist(prompts.map((id) => this.deps.prompts.file(id))), MAX_COLLECTED_DIGITS, PIN_PATTERN, 'dialin_pin'),
    );
    result.catch(() => undefined);
    await this.guard(endpoint.commandsTaken());
    return { result };
  }

  /** Leftover digits are flushed so a flood or a too-long entry does not spill into the next attempt. */
  private async readEntry(pending: PendingEntry): Promise<{ kind: 'pin'; digits: string } | { kind: 'malformed' } | { kind: 'nothing' }> {
    const endpoint = this.callerEndpoint!;
    const result = await this.guard(pending.result);
    this.pinEnteredAt = performance.now();
    // Awaited before the next entry only: a right PIN must not wait for it.
    this.flushingKeys = endpoint.api('uuid_flush_dtmf', endpoint.uuid);
    this.flushingKeys.catch(() => undefined);
    if (result.digits) return { kind: 'pin', digits: result.digits };
    if (result.invalidDigits) return { kind: 'malformed' };
    return { kind: 'nothing' };
  }

  /** SPEC §4 steps 6–7. Resolves false when no Jigasi answered. */
  private async connectToJigasi(): Promise<boolean> {
    const pin = this.pin!;
    const callerEndpoint = this.callerEndpoint!;
    // Not awaited: it plays until Jigasi answers and stopPlaying() ends it.
    callerEndpoint.play(playlist([this.deps.prompts.file('connecting'), RINGBACK])).catch(() => undefined);

    const jigasiEndpoint = await this.guard(this.jigasiEndpointCreation!);
    const { settings } = this.deps;
    this.deps.metrics.pinToJigasiInvite.observe((performance.now() - this.pinEnteredAt) / 1000);
    // Adopted even when the call has ended meanwhile: a 200 OK that crossed our CANCEL needs its BYE.
    const invitation = inviteJigasi(
      this.deps.srf,
      this.deps.jigasi,
      {
        localSdp: jigasiEndpoint.local.sdp,
        roomJid: pin.roomJid,
        password: pin.password,
        displayName: displayNameFor(pin.label, this.callerNumber, settings.callerIdMode, settings.language),
        roomHeader: settings.jigasiRoomHeader,
        passwordHeader: settings.jigasiPasswordHeader,
      },
      this.log,
      (pending) => (this.pendingInvite = pending),
      () => this.hangUpReason !== undefined,
    ).then((answer) => {
      this.pendingInvite = undefined;
      this.adoptJigasiDialog(answer.dialog, answer.release);
      return answer;
    });
    let answered: Awaited<typeof invitation>;
    try {
      answered = await this.guard(invitation);
    } catch (error) {
      if (!(error instanceof JigasiUnreachable)) throw error;
      this.log.error({ attempts: error.attempts }, 'no Jigasi reachable');
      await this.guard(callerEndpoint.stopPlaying());
      return false;
    }
    await this.guard(jigasiEndpoint.modify(answered.dialog.remote.sdp));
    await this.guard(callerEndpoint.stopPlaying());
    // Listeners, and everyone in a start-muted room, are muted before the bridge, so the room
    // never hears them; Jigasi is told so the room shows them muted.
    const startMuted = pin.role === 'listener' || pin.startMuted;
    if (startMuted) await this.guard(this.setMuted(true));
    await this.guard(callerEndpoint.bridge(jigasiEndpoint));
    callerEndpoint.on('dtmf', ({ dtmf }) => this.onInCallKey(dtmf));
    callerEndpoint.receiveKeys();
    if (startMuted) void this.askJigasi(true);
    return true;
  }

  private adoptJigasiDialog(dialog: SipDialog, release: () => void): void {
    if (this.hangUpReason !== undefined) {
      // Jigasi answered just as the call ended: the 200 crossed our CANCEL.
      release();
      void this.destroyOnce(dialog);
      return;
    }
    this.releaseJigasi = release;
    this.jigasiDialog = dialog;
    dialog.on('destroy', () => {
      this.gone.add(dialog);
      this.onJigasiGone();
    });
    dialog.on('info', (req, res) => this.onJigasiInfo(req, res));
  }

  /** Every INFO from Jigasi is answered 200, whatever it holds (SPEC §4 step 8, jitsi-contract.md). */
  private onJigasiInfo(req: SipRequest, res: SipResponse): void {
    res.send(200);
    const message = parseJigasiInfo(req.get('Content-Type'), req.body);
    switch (message?.kind) {
      case undefined:
        this.log.debug('INFO from Jigasi that is not a message we know');
        return;
      case 'heartbeat':
        this.sendToJigasi(HEARTBEAT_BODY);
        return;
      case 'mute-response':
        this.muteRequests.get(message.id)?.(message.ok);
        return;
      case 'mute-request':
        void this.onModeratorMute(message.id, message.audio);
        return;
      case 'notification':
        this.onJigasiNotification(message.type);
    }
  }

  /** Lobby and room access (SPEC §4 step 8, jigasi SipInfoJsonProtocol). */
  private onJigasiNotification(type: number): void {
    this.log.debug({ type }, 'notification from Jigasi');
    switch (type) {
      case LOBBY_JOINED:
        this.announceInConference('lobby-waiting');
        this.stopLobbyReminder();
        this.lobbyReminder = setInterval(() => this.announceInConference('lobby-waiting'), LOBBY_REPEAT_MS);
        return;
      case LOBBY_LEFT:
        this.stopLobbyReminder();
        return;
      case LOBBY_ALLOWED:
        this.stopLobbyReminder();
        this.announceInConference('lobby-admitted');
        return;
      case LOBBY_REJECTED:
        this.stopLobbyReminder();
        this.conferenceEndReason = 'rejected';
        this.resolveConferenceEnd();
        return;
      case ROOM_ACCESS_REQUEST:
        if (this.pin?.password) this.sendToJigasi(roomPasswordBody(++this.messagesToJigasi, this.pin.password));
        else void this.askCallerForRoomPassword();
    }
  }

  /**
   * Jitsi wants a room password the gateway does not know: the caller leaves the bridge, types
   * it (numeric passwords only) and goes back in. Jigasi asks again after a wrong one; after
   * PIN_ATTEMPTS asks the caller hears "the password is not correct" and goodbye.
   */
  private async askCallerForRoomPassword(): Promise<void> {
    if (this.askingForPassword || this.state !== 'bridged') return;
    this.askingForPassword = true;
    try {
      if (++this.passwordAsks > this.deps.settings.pinAttempts) {
        this.conferenceEndReason = 'wrong-password';
        this.resolveConferenceEnd();
        return;
      }
      const caller = this.callerEndpoint!;
      await this.guard(caller.unbridge());
      const entry = await this.guard(
        caller.playCollect(
          keypadEntry(
            this.deps.prompts.file(this.passwordAsks === 1 ? 'enter-room-password' : 'invalid-room-password'),
            MAX_ROOM_PASSWORD_DIGITS,
            '^\\d+$',
            'dialin_room_password',
          ),
        ),
      );
      await this.guard(caller.api('uuid_flush_dtmf', caller.uuid));
      await this.guard(caller.bridge(this.jigasiEndpoint!));
      if (entry.digits) this.sendToJigasi(roomPasswordBody(++this.messagesToJigasi, entry.digits));
    } catch (error) {
      if (!(error instanceof CallEnded)) this.log.error({ err: error }, 'asking for the room password failed');
    } finally {
      this.askingForPassword = false;
    }
  }

  private stopLobbyReminder(): void {
    clearInterval(this.lobbyReminder);
    this.lobbyReminder = undefined;
  }

  /** A moderator muted the caller in Jitsi: mute in FreeSWITCH, tell the caller, answer Jigasi. */
  private async onModeratorMute(id: string, audio: boolean): Promise<void> {
    // A listener stays muted whatever the room asks; that is the point of the role.
    const allowed = this.state === 'bridged' && (audio || this.pin?.role !== 'listener');
    const ok = allowed && (await this.setMuted(audio).then(() => true, () => false));
    this.sendToJigasi(muteResponseBody(id, audio, ok));
    if (ok && audio) this.announceInConference('moderator-muted');
  }

  /** *6 and *1 during the conference; any other key is ignored. */
  private onInCallKey(key: string): void {
    if (this.state !== 'bridged') return;
    const command = this.inCallKeys.press(key, this.now());
    if (command === 'help') this.announceInConference('help');
    if (command === 'toggle-mute') void this.toggleMute();
  }

  private async toggleMute(): Promise<void> {
    if (this.pin?.role === 'listener') {
      this.announceInConference('listen-only');
      return;
    }
    if (!this.muted) {
      await this.setMuted(true);
      this.announceInConference('muted');
      void this.askJigasi(true);
      return;
    }
    if (await this.askJigasi(false)) {
      await this.setMuted(false);
      this.announceInConference('unmuted');
    } else {
      this.announceInConference('moderator-must-unmute');
    }
  }

  /** Tells Jigasi the caller's mute state; resolves with its answer (true when it did not answer). */
  private async askJigasi(audio: boolean): Promise<boolean> {
    const id = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(true), MUTE_RESPONSE_TIMEOUT_MS);
      const settle = (ok: boolean) => {
        clearTimeout(timer);
        this.muteRequests.delete(id);
        resolve(ok);
      };
      this.muteRequests.set(id, settle);
      this.sendToJigasi(muteRequestBody(id, audio));
    });
  }

  private sendToJigasi(body: string): void {
    const dialog = this.jigasiDialog;
    if (!dialog || this.gone.has(dialog) || this.destroyed.has(dialog)) return;
    dialog.request({ method: 'INFO', headers: { 'Content-Type': 'application/json' }, body }).catch((error: unknown) => {
      this.log.debug({ err: error }, 'INFO to Jigasi failed');
    });
  }

  /** Mutes what the caller says (a FreeSWITCH media bug; the bridge stays up). */
  private async setMuted(muted: boolean): Promise<void> {
    const endpoint = this.callerEndpoint!;
    await endpoint.api('uuid_audio', muted ? `${endpoint.uuid} start read mute -4` : `${endpoint.uuid} stop`);
    this.muted = muted;
  }

  /** A prompt only the caller hears, mixed into the conference audio without leaving the bridge. */
  private announceInConference(id: PromptId): void {
    const endpoint = this.callerEndpoint;
    if (!endpoint) return;
    endpoint.api('uuid_displace', `${endpoint.uuid} start ${this.deps.prompts.file(id)} 0 mux`).catch((error: unknown) => {
      this.log.debug({ err: error }, 'could not play an in-conference prompt');
    });
  }

  private onJigasiGone(): void {
    if (this.state === 'bridged') this.resolveConferenceEnd();
    else this.hangUp('jigasi-hung-up');
  }

  /** DTMF by SIP INFO reaches us, not FreeSWITCH: hand it to FreeSWITCH's digit collection. */
  private onCallerInfo(req: SipRequest, res: SipResponse): void {
    res.send(200);
    const digit = digitFromInfo(req.get('Content-Type'), req.body);
    if (digit === undefined || !this.callerEndpoint) return;
    const now = this.now();
    if (now - this.infoDigits.windowStart >= 1000) this.infoDigits = { windowStart: now, count: 0 };
    if (++this.infoDigits.count > INFO_DIGITS_PER_SECOND) return;
    if (this.state === 'bridged') {
      this.onInCallKey(digit);
      return;
    }
    if (this.state !== 'collecting') return;
    const endpoint = this.callerEndpoint;
    endpoint.api('uuid_recv_dtmf', `${endpoint.uuid} ${digit}`).catch((error: unknown) => {
      this.log.debug({ err: error }, 'could not pass a SIP INFO digit to FreeSWITCH');
    });
  }

  /** Plays prompts to the caller and waits for them to finish. */
  private async announce(...prompts: PromptId[]): Promise<void> {
    const endpoint = this.callerEndpoint;
    if (!endpoint || this.gone.has(endpoint)) return;
    await this.guard(endpoint.play(playlist(prompts.map((id) => this.deps.prompts.file(id)))));
  }

  /** Ends the call from outside; the story stops at its next await. */
  hangUp(reason: HangUpReason): void {
    if (this.hangUpReason !== undefined || this.state === 'ending' || this.state === 'ended') return;
    this.hangUpReason = reason;
    this.log.info({ reason, state: this.state }, 'hang-up');
    this.pendingInvite?.cancel();
    this.rejectEnded(new CallEnded(reason));
  }

  kick(): void {
    this.hangUp('kicked');
  }

  abandon(): void {
    this.hangUp('signalling-lost');
  }

  end(): void {
    this.hangUp('service-stopping');
  }

  view(): LiveCallView {
    return {
      id: this.id,
      room: this.pin?.room ?? null,
      pinId: this.pin?.pinId ?? null,
      label: this.pin?.label ?? null,
      caller: maskCallerNumber(this.callerNumber),
      state: this.state,
      muted: this.muted,
      startedAt: this.startedAt,
    };
  }

  /** FreeSWITCH can go away during a call; endpoints then report "destroy" and the call ends. */
  private media(): MediaServer {
    const mediaServer = this.deps.mediaServer();
    if (!mediaServer) throw new CallEnded('media-lost');
    return mediaServer;
  }

  private outcomeOfHangUp(reason: HangUpReason): CallOutcome {
    if (reason === 'kicked') return 'kicked';
    if (reason === 'service-stopping') return 'service-stopped';
    if (reason === 'cancelled') return 'cancelled';
    switch (this.state) {
      case 'bridged':
        return 'completed';
      case 'connecting':
        if (reason === 'caller-hung-up') return 'cancelled';
        return reason === 'media-lost' ? 'media-failed' : 'jigasi-failed';
      case 'collecting':
        return this.wrongPins > 0 ? 'pin-failed' : 'answered-no-pin';
      default:
        return reason === 'media-lost' ? 'media-failed' : 'cancelled';
    }
  }

  private transition(to: CallState): void {
    if (!TRANSITIONS[this.state].includes(to)) throw new Error(`call ${this.id}: no transition from ${this.state} to ${to}`);
    this.state = to;
  }

  /** Waits for an operation unless the call is hung up first. */
  private async guard<T>(operation: Promise<T>): Promise<T> {
    if (this.hangUpReason !== undefined) {
      operation.catch(() => undefined);
      return Promise.reject(new CallEnded(this.hangUpReason));
    }
    return Promise.race([operation, this.ended]);
  }

  /**
   * Waits for a dialog or endpoint being created. If the call ends first, the resource is
   * destroyed as soon as it arrives instead of leaking.
   */
  private async own<T extends Destroyable>(creation: Promise<T>, adopt: (resource: T) => void): Promise<T> {
    const adopted = creation.then((resource) => {
      if (this.hangUpReason !== undefined) void this.destroyOnce(resource);
      else adopt(resource);
      return resource;
    });
    return this.guard(adopted);
  }

  private async destroyOnce(resource: Destroyable | undefined): Promise<void> {
    if (!resource || this.destroyed.has(resource) || this.gone.has(resource)) return;
    this.destroyed.add(resource);
    try {
      await resource.destroy();
    } catch (error) {
      this.log.debug({ err: error }, 'teardown: already gone');
    }
  }

  private async tearDown(outcome: CallOutcome): Promise<void> {
    this.transition('ending');
    this.stopLobbyReminder();
    this.pendingInvite?.cancel();
    if (!this.res.finalResponseSent && !this.req.canceled) {
      this.res.send(480, 'Temporarily Unavailable');
    }
    await Promise.all([
      this.destroyOnce(this.jigasiDialog),
      this.destroyOnce(this.caller),
      this.destroyOnce(this.jigasiEndpoint),
      this.destroyOnce(this.callerEndpoint),
    ]);
    this.releaseJigasi?.();
    this.deps.registry.remove(this.id);
    this.deps.metrics.activeCalls.dec();
    this.deps.metrics.callsEnded.inc({ outcome });
    this.transition('ended');
    const endedAt = this.now();
    try {
      await this.deps.records.finishCallRecord(this.id, endedAt, outcome, this.pin?.room ?? null, this.pin?.pinId ?? null);
    } catch (error) {
      this.log.error({ err: error }, 'could not finish the call record');
    }
    this.log.info({ outcome, seconds: Math.round((endedAt - this.startedAt) / 1000) }, 'call ended');
  }
}

/**
 * One keypad entry through play_and_get_digits: the prompt stops at the first key, "#" ends
 * the entry, SPEC §4's 10 s for the first key and 5 s between keys.
 */
function keypadEntry(file: string, max: number, regexp: string, varName: string): PlayCollectOptions {
  return {
    file,
    min: 1,
    max,
    tries: 1,
    timeout: FIRST_DIGIT_TIMEOUT_MS,
    digitTimeout: BETWEEN_DIGITS_TIMEOUT_MS,
    terminators: '#',
    invalidFile: 'silence_stream://250',
    regexp,
    varName,
  };
}

function safeFrom(req: SipRequest) {
  try {
    return req.getParsedHeader('From');
  } catch {
    return undefined;
  }
}
