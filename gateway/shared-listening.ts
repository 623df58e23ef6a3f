import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { LiveCallView, MuteOutcome } from '../provisioning/live-calls';
import type { HangUpReason } from './call-outcome';
import type { CallRegistry, RegisteredCall } from './call-registry';
import { CallEnded, CallScope } from './call-scope';
import type { ConferenceEnd } from './conference-controls';
import { InCallKeys } from './in-call-keys';
import {
  HEARTBEAT_BODY,
  LOBBY_REJECTED,
  muteRequestBody,
  muteResponseBody,
  parseJigasiInfo,
} from './jigasi-info';
import { inviteJigasi, type JigasiPool } from './jigasi';
import type { PendingInvite } from './pending-invite';
import type { PromptId, PromptSet } from './prompts';
import { LobbyPrompts, playToCaller, sendToJigasi } from './conference-messages';
import type { MediaEndpoint, MediaServer, SipDialog, SipRequest, SipResponse, SipServer } from './sip';

/**
 * Listeners of a room with `listeners: "shared"` (SPEC §6) share one Jigasi leg: a FreeSWITCH
 * conference per room (freeswitch-config's profile dialin-listeners, nothing announced) whose
 * one speaking member is the leg to Jigasi, the room's sound, and whose listeners are joined
 * muted. The first listener brings the leg up; when the last one has left it ends after
 * LISTENER_GRACE_MS, so a listener who redials finds it still there. Jigasi's side of the leg
 * (every INFO answered, heartbeat, lobby, stored room password, a moderator's mute) is handled
 * here once for all its listeners. When the leg ends, each listener learns how (the Call plays
 * the farewell); when it cannot be brought up, they learn it was unreachable, and the next
 * listener tries again. A conference lives on one FreeSWITCH: with several, each carries its
 * own leg for the room.
 */

export type ListeningEnd = ConferenceEnd | 'unreachable';

export interface ListeningTiming {
  /** How long the leg outlives its last listener. */
  graceMs: number;
  /**
   * How long FreeSWITCH may take to report a member added to the conference. Only a join that
   * failed never reports; a busy FreeSWITCH (300 listeners joining at 10 a second on two cores)
   * took more than 5 s for some, who lost their call at a shorter deadline.
   */
  joinWithinMs: number;
  /** The lobby prompt repeats with this pause while a moderator has not decided. */
  lobbyRepeatMs: number;
  /** How long the leg's teardown waits for each dialog and endpoint to end. */
  destroyWithinMs: number;
}

export const LISTENING_TIMING: ListeningTiming = { graceMs: 10_000, joinWithinMs: 15_000, lobbyRepeatMs: 12_000, destroyWithinMs: 5_000 };

export const LISTENER_PROFILE = 'dialin-listeners';

export interface ListeningSettings {
  /** LISTENER_DISPLAY_NAME: what the room sees of the shared leg. */
  displayName: string;
  jigasiRoomHeader: string;
  jigasiPasswordHeader: string;
}

export interface ListeningMetrics {
  sharedListeners: { inc(labels: { room: string }): void; dec(labels: { room: string }): void };
  sharedLegs: { inc(): void; dec(): void };
}

export interface ListeningDependencies {
  srf: SipServer;
  jigasi: JigasiPool;
  prompts: PromptSet;
  settings: ListeningSettings;
  metrics: ListeningMetrics;
  /** Each leg is listed (GET /api/v1/calls), can be ended by an administrator, and counts as a call against MAX_CALLS and while draining. */
  registry: CallRegistry;
  logger: Logger;
  timing?: ListeningTiming;
  /** The clock of the in-call keys' star window and of the leg's start. */
  now?: () => number;
}

type ResolvedDependencies = ListeningDependencies & { timing: ListeningTiming; now: () => number };

/** What a listener brings: the room, and the channel and FreeSWITCH it is on. */
export interface ListenerRequest {
  room: string;
  roomJid: string;
  password: string | null;
  caller: MediaEndpoint;
  media: { server: MediaServer; name: string };
  /** The listener's call: waiting for the leg ends with it. */
  scope: CallScope;
  log: Logger;
}

/** A listener in the conference: `ended` says how the leg ended for them; `leave` when their call ends first. */
export interface Listening {
  /** The shared leg's id, as GET /api/v1/calls lists it. */
  legId: string;
  ended: Promise<ListeningEnd>;
  leave(): void;
  /** The process stops after draining: this listener hears why, then the call ends. */
  endForMaintenance(): void;
  onKey(key: string): void;
}

/** The shared leg of a room, for tests and the log. */
export interface SharedLegView {
  id: string;
  room: string;
  freeswitch: string;
  state: 'connecting' | 'in-conference';
  listeners: number;
  startedAt: number;
}

class Listener implements Listening {
  readonly ended: Promise<ListeningEnd>;
  private endWith!: (end: ListeningEnd) => void;
  private over = false;
  private readonly keys = new InCallKeys();

  constructor(
    readonly caller: MediaEndpoint,
    private readonly leg: SharedLeg,
    readonly scope: CallScope,
  ) {
    this.ended = new Promise((resolve) => (this.endWith = resolve));
  }

  get legId(): string {
    return this.leg.id;
  }

  finish(end: ListeningEnd): void {
    if (this.over) return;
    this.over = true;
    this.endWith(end);
  }

  leave(): void {
    this.finish('ended');
    this.leg.remove(this);
  }

  endForMaintenance(): void {
    this.finish('maintenance');
    this.leg.remove(this);
  }

  /** *1 help; *6 says the line is listen-only. */
  onKey(key: string): void {
    if (this.over) return;
    const command = this.keys.press(key, this.leg.now());
    if (command === 'help') this.leg.announceTo(this, 'help', this.scope);
    if (command === 'toggle-mute') this.leg.announceTo(this, 'listen-only', this.scope);
  }
}

class SharedLeg implements RegisteredCall {
  readonly id = randomUUID();
  readonly conference = `dialin-listeners-${this.id}`;
  readonly startedAt: number;
  readonly ready: Promise<void>;
  private state: 'connecting' | 'in-conference' | 'over' = 'connecting';
  private readonly scope: CallScope;
  private readonly listeners = new Set<Listener>();
  private endpoint?: MediaEndpoint;
  private dialog?: SipDialog;
  private pending?: PendingInvite;
  private release?: () => void;
  private graceTimer?: NodeJS.Timeout;
  private readonly lobby: LobbyPrompts;
  /** Its lines carry the id GET /api/v1/calls shows for the leg. */
  private readonly log: Logger;

  constructor(
    readonly key: string,
    private readonly request: ListenerRequest,
    private readonly deps: ResolvedDependencies,
    private readonly onOver: (leg: SharedLeg) => void,
  ) {
    this.log = deps.logger.child({ sharedLeg: this.id, room: request.room, freeswitch: request.media.name });
    this.startedAt = deps.now();
    this.scope = new CallScope(this.log, () => this.end('ended'), deps.timing.destroyWithinMs);
    this.lobby = new LobbyPrompts(this.scope, deps.timing.lobbyRepeatMs, (id) => this.announceToAll(id));
    deps.registry.add(this);
    this.ready = this.bringUp();
    // Each listener waits for `ready` itself; a failure is reported to them there.
    this.ready.catch(() => undefined);
  }

  get room(): string {
    return this.request.room;
  }

  now(): number {
    return this.deps.now();
  }

  /** As GET /api/v1/calls lists it: the room's phone listeners as the room sees them. */
  view(): LiveCallView {
    return {
      id: this.id,
      direction: 'in',
      room: this.request.room,
      pinId: null,
      label: this.deps.settings.displayName,
      role: 'listener',
      caller: '',
      state: this.state === 'in-conference' ? 'bridged' : this.state === 'over' ? 'ending' : 'connecting',
      muted: true,
      startedAt: this.startedAt,
      listeners: this.listeners.size,
    };
  }

  /** An administrator's hang-up, drachtio-server lost, or the service stopping: the leg ends for every listener. */
  hangUp(_reason: HangUpReason): void {
    this.end('ended');
  }

  endForMaintenance(): void {
    this.end('maintenance');
  }

  async setMutedByAdmin(): Promise<MuteOutcome> {
    return 'listener';
  }

  summary(): SharedLegView {
    return {
      id: this.id,
      room: this.request.room,
      freeswitch: this.request.media.name,
      state: this.state === 'in-conference' ? 'in-conference' : 'connecting',
      listeners: this.listeners.size,
      startedAt: this.startedAt,
    };
  }

  get over(): boolean {
    return this.state === 'over';
  }

  add(caller: MediaEndpoint, scope: CallScope): Listener {
    this.scope.clear(this.graceTimer);
    this.graceTimer = undefined;
    const listener = new Listener(caller, this, scope);
    this.listeners.add(listener);
    this.deps.metrics.sharedListeners.inc({ room: this.room });
    return listener;
  }

  remove(listener: Listener): void {
    if (!this.listeners.delete(listener)) return;
    this.deps.metrics.sharedListeners.dec({ room: this.room });
    if (this.listeners.size > 0 || this.over) return;
    this.log.info({ graceMs: this.deps.timing.graceMs }, 'the last listener left; the shared leg ends unless another joins');
    this.graceTimer = this.scope.after(this.deps.timing.graceMs, () => this.end('ended'));
  }

  /** Ends the leg; every listener still in it learns how. */
  end(end: ConferenceEnd): void {
    if (this.over) return;
    this.log.info({ reason: end, listeners: this.listeners.size }, 'the shared leg ended');
    this.close(end);
  }

  private close(end: ListeningEnd): void {
    this.state = 'over';
    // Each listener's call leaves the leg (Listening#leave) as it ends.
    for (const listener of this.listeners) listener.finish(end);
    this.onOver(this);
    this.scope.cancel('finished');
    this.pending?.cancel();
    this.scope.run('ending the shared leg', async () => {
      await Promise.all([this.scope.destroy(this.dialog), this.scope.destroy(this.endpoint)]);
      this.release?.();
      this.scope.close();
      this.deps.registry.remove(this.id);
      this.deps.metrics.sharedLegs.dec();
    });
  }

  /** The leg's endpoint, Jigasi's answer, and the leg in the conference (it makes the conference). */
  private async bringUp(): Promise<void> {
    const { srf, jigasi, settings, metrics } = this.deps;
    metrics.sharedLegs.inc();
    try {
      const endpoint = await this.scope.own(this.request.media.server.createEndpoint({}), (created) => {
        this.endpoint = created;
        this.scope.on(created, 'destroy', () => {
          this.scope.markGone(created);
          this.end('ended');
        });
      });
      const answer = await inviteJigasi(
        srf,
        jigasi,
        {
          localSdp: endpoint.local.sdp,
          roomJid: this.request.roomJid,
          password: this.request.password,
          displayName: settings.displayName,
          roomHeader: settings.jigasiRoomHeader,
          passwordHeader: settings.jigasiPasswordHeader,
        },
        this.scope,
        this.log,
        (pending) => (this.pending = pending),
        ({ dialog, release }) => {
          this.pending = undefined;
          this.dialog = dialog;
          this.release = release;
          this.scope.on(dialog, 'destroy', () => {
            this.scope.markGone(dialog);
            this.end('ended');
          });
          this.scope.on(dialog, 'info', (req: SipRequest, res: SipResponse) => this.onJigasiInfo(req, res));
        },
      );
      await this.scope.guard(endpoint.modify(answer.dialog.remote.sdp));
      await this.scope.guard(withDeadline(endpoint.join(this.conference, { profile: LISTENER_PROFILE }), this.deps.timing.joinWithinMs, 'the shared leg joining its conference'));
      // The room shows the leg muted: it never speaks (its listeners are muted in the conference).
      this.sendToJigasi(muteRequestBody(randomUUID(), true));
      this.state = 'in-conference';
      this.log.info({ jigasi: answer.uri }, 'the shared leg is in the conference');
    } catch (error) {
      if (!this.over) {
        this.log.error({ err: error }, 'the shared leg could not be brought up');
        this.close('unreachable');
      }
      throw error;
    }
  }

  /** Every INFO from Jigasi is answered 200 (jitsi-contract.md); the leg speaks for all its listeners. */
  private onJigasiInfo(req: SipRequest, res: SipResponse): void {
    res.send(200);
    if (this.over) return;
    const message = parseJigasiInfo(req.get('Content-Type'), req.body);
    switch (message?.kind) {
      case undefined:
      case 'mute-response':
        return;
      case 'heartbeat':
        this.sendToJigasi(HEARTBEAT_BODY);
        return;
      case 'mute-request':
        // A moderator may mute the leg (it is muted anyway), never unmute it.
        this.sendToJigasi(muteResponseBody(message.id, message.audio, message.audio));
        return;
      case 'notification':
        this.onJigasiNotification(message.type);
    }
  }

  private onJigasiNotification(type: number): void {
    this.lobby.handle(type);
    if (type === LOBBY_REJECTED) this.end('rejected');
  }

  private sendToJigasi(body: string): void {
    if (this.dialog) sendToJigasi(this.dialog, this.scope, this.log, body);
  }

  private announceToAll(id: PromptId): void {
    // Each through the listener's own call: a channel that fails to play ends that call, not the leg.
    for (const listener of this.listeners) this.announceTo(listener, id, listener.scope);
  }

  /** A prompt one listener hears, mixed into what the conference sends them. */
  announceTo(listener: Listener, id: PromptId, scope: CallScope): void {
    playToCaller(listener.caller, scope, this.deps.prompts, this.log, id);
  }
}

/** Rejects when `operation` has not settled within `ms` (fsmrf's join never rejects by itself). */
async function withDeadline<T>(operation: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([operation, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export class SharedListening {
  private readonly legs = new Map<string, SharedLeg>();
  private readonly deps: ResolvedDependencies;

  constructor(deps: ListeningDependencies) {
    this.deps = { ...deps, timing: deps.timing ?? LISTENING_TIMING, now: deps.now ?? Date.now };
  }

  /**
   * The listener joins the room's shared leg, brought up when there is none. Resolves once the
   * listener is in the conference; a leg that could not be brought up resolves with `ended`
   * already 'unreachable'. Rejects (CallEnded) when the listener's call ends meanwhile.
   */
  async join(request: ListenerRequest): Promise<Listening> {
    const key = `${request.room}\u0000${request.media.name}`;
    let leg = this.legs.get(key);
    // A leg leaves this map the moment it is over (its onOver), so a leg found here is never over.
    if (!leg) {
      leg = new SharedLeg(key, request, this.deps, (over) => this.legs.delete(over.key));
      this.legs.set(key, leg);
    }
    const { caller, scope } = request;
    const listener = leg.add(caller, scope);
    try {
      try {
        await scope.guard(leg.ready);
      } catch (error) {
        if (error instanceof CallEnded && scope.cancelledBy !== undefined) throw error;
        return listener;
      }
      await scope.guard(caller.stopPlaying());
      await scope.guard(withDeadline(caller.join(leg.conference, { profile: LISTENER_PROFILE, flags: { mute: true } }), this.deps.timing.joinWithinMs, 'a listener joining the conference'));
      caller.receiveKeys();
      scope.on(caller, 'dtmf', ({ dtmf }: { dtmf: string }) => listener.onKey(dtmf));
      return listener;
    } catch (error) {
      listener.leave();
      throw error;
    }
  }

  views(): SharedLegView[] {
    return [...this.legs.values()].map((leg) => leg.summary());
  }
}
