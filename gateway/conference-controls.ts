import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallScope } from './call-scope';
import { InCallKeys } from './in-call-keys';
import { HEARTBEAT_BODY, LOBBY_REJECTED, muteRequestBody, muteResponseBody, parseJigasiInfo } from './jigasi-info';
import type { OpenPin } from './pin-entry';
import type { MuteOutcome } from '../provisioning/live-calls';
import type { PromptId, PromptSet } from './prompts';
import { LobbyPrompts, playToCaller, sendToJigasi } from './conference-messages';
import { FreeswitchRefused, type MediaEndpoint, type SipDialog, type SipRequest, type SipResponse } from './sip';

/**
 * The caller in the conference, from Jigasi's answer to the end of its leg (SPEC §4 step 8,
 * jitsi-contract.md): *6 and *1, mute in FreeSWITCH and towards Jigasi, a moderator's mute,
 * the lobby, the heartbeat, every INFO from Jigasi. `ended` says how the
 * conference ended for the caller. Everything it starts ends with the call's scope.
 */

export type ConferenceEnd = 'ended' | 'rejected' | 'maintenance';

export type AdminMuteResult = Exclude<MuteOutcome, 'not-in-conference' | 'not-found'>;

export interface ConferenceTiming {
  /** How long an unmute waits for Jigasi's muteResponse; without one the caller is unmuted. */
  muteResponseMs: number;
  /** The lobby prompt repeats with this pause while a moderator has not decided. */
  lobbyRepeatMs: number;
}

export const CONFERENCE_TIMING: ConferenceTiming = { muteResponseMs: 5_000, lobbyRepeatMs: 12_000 };

export interface ConferenceParts {
  scope: CallScope;
  caller: MediaEndpoint;
  jigasiEndpoint: MediaEndpoint;
  jigasi: SipDialog;
  pin: Pick<OpenPin, 'role' | 'password' | 'startMuted'>;
  prompts: PromptSet;
  timing: ConferenceTiming;
  log: Logger;
  now: () => number;
}

export class ConferenceControls {
  readonly ended: Promise<ConferenceEnd>;
  private endWith!: (end: ConferenceEnd) => void;
  private bridged = false;
  private over = false;
  private isMuted = false;
  private toggling = false;
  private readonly keys = new InCallKeys();
  private readonly muteRequests = new Map<string, (ok: boolean) => void>();
  private readonly lobby: LobbyPrompts;

  constructor(private readonly parts: ConferenceParts) {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
    this.lobby = new LobbyPrompts(parts.scope, parts.timing.lobbyRepeatMs, (id) => this.announce(id));
    parts.scope.on(parts.jigasi, 'info', (req: SipRequest, res: SipResponse) => this.onJigasiInfo(req, res));
  }

  get muted(): boolean {
    return this.isMuted;
  }

  /** Listeners, and everyone in a start-muted room, are muted before the bridge, so the room never hears them. */
  get startsMuted(): boolean {
    return this.parts.pin.role === 'listener' || this.parts.pin.startMuted;
  }

  /** Mutes a caller who starts muted; rejects when FreeSWITCH refuses, and the caller must not be bridged. */
  async beforeBridge(): Promise<void> {
    if (this.startsMuted) await this.setMuted(true);
  }

  /** The caller is in the conference: keys count, and Jigasi learns of a mute made before. */
  start(): void {
    this.bridged = true;
    this.parts.scope.on(this.parts.caller, 'dtmf', ({ dtmf }: { dtmf: string }) => this.onKey(dtmf));
    this.parts.caller.receiveKeys();
    if (this.isMuted) this.tellJigasi(true);
  }

  /** The process drained for DRAIN_SECONDS and stops: the caller hears why, then the call ends. */
  endForMaintenance(): void {
    this.finish('maintenance');
  }

  /** Jigasi's leg ended (BYE, or its FreeSWITCH channel went away). */
  jigasiLeft(): void {
    this.finish('ended');
  }

  /** A key from FreeSWITCH's DTMF events or from a SIP INFO. */
  onKey(key: string): void {
    if (!this.bridged || this.over) return;
    const command = this.keys.press(key, this.parts.now());
    if (command === 'help') this.announce('help');
    // One toggle at a time: a key storm must not interleave mutes and unmutes.
    if (command === 'toggle-mute' && !this.toggling) {
      this.toggling = true;
      this.parts.scope.run('toggling mute', async () => this.toggleMute().finally(() => (this.toggling = false)));
    }
  }

  private finish(end: ConferenceEnd): void {
    if (this.over) return;
    this.over = true;
    this.lobby.stop();
    this.endWith(end);
  }

  private async toggleMute(): Promise<void> {
    if (this.parts.pin.role === 'listener') {
      this.announce('listen-only');
      return;
    }
    if (!this.isMuted) {
      if (!(await this.trySetMuted(true))) return;
      this.announce('muted');
      this.tellJigasi(true);
      return;
    }
    if (!(await this.askJigasi(false))) {
      this.announce('moderator-must-unmute');
      return;
    }
    if (await this.trySetMuted(false)) this.announce('unmuted');
  }

  /**
   * An administrator mutes or unmutes the caller from the console, as a moderator would: the
   * caller hears it, Jigasi is told (a mute) or asked (an unmute: Jitsi's moderation may say no).
   * A listener stays muted.
   */
  async setMutedByAdmin(muted: boolean): Promise<AdminMuteResult> {
    if (muted) {
      if (this.isMuted) return 'muted';
      if (!(await this.trySetMuted(true))) return 'refused-by-freeswitch';
      this.announce('moderator-muted');
      this.tellJigasi(true);
      return 'muted';
    }
    if (this.parts.pin.role === 'listener') return 'listener';
    if (!this.isMuted) return 'unmuted';
    if (!(await this.askJigasi(false))) return 'refused-by-jitsi';
    if (!(await this.trySetMuted(false))) return 'refused-by-freeswitch';
    this.announce('unmuted');
    return 'unmuted';
  }

  /** Mutes what the caller says (a FreeSWITCH media bug; the bridge stays up). */
  private async setMuted(muted: boolean): Promise<void> {
    const { caller, scope } = this.parts;
    await scope.guard(caller.command('uuid_audio', muted ? `${caller.uuid} start read mute -4` : `${caller.uuid} stop`));
    this.isMuted = muted;
  }

  /** setMuted, false when FreeSWITCH refused: the caller stays as they were. */
  private async trySetMuted(muted: boolean): Promise<boolean> {
    try {
      await this.setMuted(muted);
      return true;
    } catch (error) {
      if (!(error instanceof FreeswitchRefused)) throw error;
      this.parts.log.warn({ reply: error.reply, muted }, 'FreeSWITCH refused to change the mute');
      return false;
    }
  }

  /** Tells Jigasi the caller's mute state without waiting for its answer. */
  private tellJigasi(audio: boolean): void {
    this.parts.scope.run('telling Jigasi of the mute', async () => this.askJigasi(audio));
  }

  /** Tells Jigasi the caller's mute state; resolves with its answer (true when it did not answer in time). */
  private async askJigasi(audio: boolean): Promise<boolean> {
    const { scope, timing } = this.parts;
    const id = randomUUID();
    const answer = new Promise<boolean>((resolve) => {
      const settle = (ok: boolean) => {
        scope.clear(timer);
        this.muteRequests.delete(id);
        resolve(ok);
      };
      const timer = scope.after(timing.muteResponseMs, () => settle(true));
      this.muteRequests.set(id, settle);
    });
    this.sendToJigasi(muteRequestBody(id, audio));
    return scope.guard(answer);
  }

  /** Every INFO from Jigasi is answered 200, whatever it holds (SPEC §4 step 8, jitsi-contract.md). */
  private onJigasiInfo(req: SipRequest, res: SipResponse): void {
    res.send(200);
    if (this.over) return;
    const message = parseJigasiInfo(req.get('Content-Type'), req.body);
    switch (message?.kind) {
      case undefined:
        this.parts.log.debug('INFO from Jigasi that is not a message we know');
        return;
      case 'heartbeat':
        this.sendToJigasi(HEARTBEAT_BODY);
        return;
      case 'mute-response':
        this.muteRequests.get(message.id)?.(message.ok);
        return;
      case 'mute-request': {
        const { id, audio } = message;
        this.parts.scope.run('answering a moderator mute', async () => this.onModeratorMute(id, audio));
        return;
      }
      case 'notification':
        this.onJigasiNotification(message.type);
    }
  }

  /** The lobby (SPEC §4 step 8, jigasi SipInfoJsonProtocol). */
  private onJigasiNotification(type: number): void {
    this.parts.log.debug({ type }, 'notification from Jigasi');
    this.lobby.handle(type);
    if (type === LOBBY_REJECTED) this.finish('rejected');
  }

  /** A moderator muted (or unmuted) the caller in Jitsi: do it in FreeSWITCH, tell the caller, answer Jigasi. */
  private async onModeratorMute(id: string, audio: boolean): Promise<void> {
    // A listener stays muted whatever the room asks; that is the point of the role.
    const allowed = this.bridged && (audio || this.parts.pin.role !== 'listener');
    const ok = allowed && (await this.trySetMuted(audio));
    this.sendToJigasi(muteResponseBody(id, audio, ok));
    if (ok && audio) this.announce('moderator-muted');
  }

  private sendToJigasi(body: string): void {
    sendToJigasi(this.parts.jigasi, this.parts.scope, this.parts.log, body);
  }

  private announce(id: PromptId): void {
    playToCaller(this.parts.caller, this.parts.scope, this.parts.prompts, this.parts.log, id);
  }
}
