import { EventEmitter } from 'node:events';
import { FakeSipError } from './drachtio';
import { FreeswitchRefused, type ConferenceJoinOptions, type EndpointOptions, type MediaEndpoint, type MediaServer, type PlayCollectOptions, type PlayCollectResult } from '../../gateway/sip';

/**
 * Fakes of drachtio-fsmrf's MediaServer and Endpoint as the gateway's adapter
 * (gateway/connections.ts) presents them, with the FreeSWITCH behaviour the call flow relies on
 * (lines cited are of lib/endpoint.js of drachtio-fsmrf 4.1.2, the version package.json pins):
 * - a channel drops the keys that arrive while no play_and_get_digits holds it (FreeSWITCH's
 *   park loop dequeues and discards them); playCollect holds it once FreeSWITCH has read it,
 *   which commandsTaken() waits for;
 * - playCollect is play_and_get_digits: keys already queued stop the prompt and count
 *   (type-ahead), "#" ends the entry, collection stops at `max` digits, an entry that does not
 *   match `regexp` comes back as invalidDigits; without keys it times out with no digits;
 * - uuid_recv_dtmf queues keys, uuid_flush_dtmf drops them;
 * - stopPlaying() is uuid_break after the gateway's adapter turned off FreeSWITCH's reports of
 *   an application's end: the stopped play never settles;
 * - file_string://a!b plays a, then b;
 * - a key raises a "dtmf" event only once receiveKeys() subscribed to FreeSWITCH's DTMF events;
 * - uuid_audio start read mute / stop mutes and unmutes what the caller says, uuid_displace
 *   mixes a file into what the caller hears, both without touching a bridge;
 * - FreeSWITCH can refuse a command (`refuse`): Endpoint#api resolves with the "-ERR …" body
 *   (:1383–1395), which the adapter turns into a FreeswitchRefused rejection; bridge and unbridge
 *   reject with the body as the error's message (:643–649, :675–681);
 * - once FreeSWITCH hung the channel up, commands are refused ("-ERR No such channel!"), the
 *   bridge and modify fail, and play and playCollect never settle (the real ESL callback never
 *   fires), which is why the gateway races them against the call's end; once the event-socket
 *   connection is gone every command rejects with fsmrf's "endpoint no longer active" (:1390,
 *   :1426);
 * - destroy() waits for FreeSWITCH's BYE (`byeDelayMs`; never while `byeWithheld`, as from a
 *   FreeSWITCH that was killed, until the connection ends) and emits nothing (:1482–1510: it
 *   executes hangup and resolves on the dialog's "destroy"); a hang-up from
 *   FreeSWITCH, or its connection ending before destroy(), emits "destroy";
 * - modify() is a re-INVITE to FreeSWITCH, which may fail it or turn the audio off (`modifyAnswer`);
 * - after modify(), `local` is stale: the adapter's lean modify does not refresh it, so the
 *   fake throws, as the adapter does, when anything reads it;
 * - bridgeOnly is only recorded: the real endpoint starts with application ends unreported and
 *   the gateway's adapter turns them on before any application, so applications still run.
 * - join runs the conference application: the member is added to the media server's conference
 *   of that name (made by the first member, gone with the last) and the promise resolves with
 *   its member id; on a dead channel, or when FreeSWITCH refuses the application
 *   (`refuse('conference')`), no add-member report comes and it never settles, as fsmrf's
 *   (:570–612 resolves only from the add-member event).
 * Time is compressed: FreeSWITCH's millisecond timeouts pass `timeScale` times faster.
 */

const tick = async () => new Promise<void>((resolve) => setImmediate(resolve));
/** How long a playback lasts, in FreeSWITCH's (compressed) milliseconds. */
const PLAYBACK_MS = 20_000;
/**
 * The shortest wait for a key, however small the time scale: a loaded machine schedules the
 * test's next key tens of milliseconds late, which must not read as a caller who stopped typing.
 */
const KEY_WAIT_FLOOR_MS = 250;
/** FreeSWITCH reads a command off the event socket a moment after it was sent, in order. */
const commandRead = async () => new Promise<void>((resolve) => setTimeout(resolve, 1));
const never = async <T>() => new Promise<T>(() => undefined);

const playedFiles = (file: string): string[] => (file.startsWith('file_string://') ? file.slice('file_string://'.length).split('!') : [file]);

/** What FreeSWITCH 1.10.12 offered for a 3pcc endpoint on the real stack (FREESWITCH_CODECS defaults). */
export const FREESWITCH_OFFER = [
  'v=0',
  'o=FreeSWITCH 1796565976 1796565977 IN IP4 127.0.0.1',
  's=FreeSWITCH',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 20578 RTP/AVP 8 0 9 102 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:102 opus/48000/2',
  'a=fmtp:102 useinbandfec=1; maxplaybackrate=48000; stereo=0',
  'a=rtpmap:101 telephone-event/8000',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

const RTPMAP_OF_STATIC: Record<string, string> = { 0: 'PCMU/8000', 8: 'PCMA/8000', 9: 'G722/8000' };

/**
 * FreeSWITCH's answer to an offer, as its generous negotiation makes it: the first offered codec
 * it has, under the offer's payload type and with its rtpmap and fmtp lines, and telephone-event.
 * An offer the fake cannot read gets a marker answer tests compare.
 */
function freeswitchAnswer(offer: string): string {
  const formats = /^m=audio \d+ \S+ ([\d ]+)/m.exec(offer)?.[1]?.trim().split(' ') ?? [];
  const rtpmap = (format: string) => new RegExp(`^a=rtpmap:${format} (\\S+)`, 'm').exec(offer)?.[1] ?? RTPMAP_OF_STATIC[format];
  const chosen = formats.find((format) => ['PCMA', 'PCMU', 'G722', 'OPUS'].includes((rtpmap(format)?.split('/')[0] ?? '').toUpperCase()));
  if (chosen === undefined) return `v=0 fs-answer-to(${offer})`;
  const dtmf = formats.find((format) => /^telephone-event\//i.test(rtpmap(format) ?? '')) ?? '101';
  const fmtp = new RegExp(`^a=fmtp:${chosen} .*$`, 'm').exec(offer)?.[0];
  return [
    ...FREESWITCH_OFFER.split('\r\n').slice(0, 5),
    `m=audio 20578 RTP/AVP ${chosen} ${dtmf}`,
    `a=rtpmap:${chosen} ${rtpmap(chosen)}`,
    ...(fmtp ? [fmtp] : []),
    `a=rtpmap:${dtmf} telephone-event/8000`,
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

let endpointCounter = 0;
let memberCounter = 0;

export class FakeEndpoint extends EventEmitter implements MediaEndpoint {
  readonly uuid = `fs-uuid-${++endpointCounter}`;
  readonly played: string[][] = [];
  readonly collects: PlayCollectOptions[] = [];
  /** Every API command the gateway sent, refused or not. */
  readonly commands: Array<{ name: string; args: string }> = [];
  readonly modified: string[] = [];
  /** Every join the gateway asked for. */
  readonly joins: Array<{ conference: string; options: ConferenceJoinOptions }> = [];
  /** The conference the channel is a member of. */
  conference?: string;
  bridgedWith?: FakeEndpoint;
  unbridges = 0;
  /** Whether FreeSWITCH drops what the caller says (uuid_audio … read mute). */
  readMuted = false;
  /** Whether the channel is a conference member that cannot speak (joined with the mute flag). */
  mutedInConference = false;
  /** Files mixed into what the caller hears (uuid_displace). */
  readonly displaced: string[] = [];
  /** Calls of stopPlaying(). */
  stops = 0;
  /** Calls of destroy() by the app. */
  destroyCalls = 0;
  /** Hang-ups that came from FreeSWITCH's side. */
  hungUpByFreeswitch = 0;
  /** How long FreeSWITCH takes to send its BYE after destroy(), in real milliseconds. */
  byeDelayMs = 0;
  /** FreeSWITCH never sends the BYE destroy() waits for. */
  byeWithheld = false;
  /** Holds FreeSWITCH's answer to modify()'s re-INVITE until it settles. */
  modifyGate?: Promise<void>;
  /**
   * FreeSWITCH's answer to modify()'s re-INVITE: 200 with the audio on, a failure status, or
   * 'audio-off' — 200 OK with m=audio 0, its answer to an offer without a codec it has.
   */
  modifyAnswer: 200 | 488 | 'audio-off' = 200;
  /** FreeSWITCH's SDP as the endpoint was made, for tests to compare with what the gateway sent. */
  readonly sdpAtCreation: string;
  private readonly refusals = new Map<string, string>();
  private readonly keys: string[] = [];
  private stopPlayback?: () => void;
  private keyArrived?: () => void;
  private byeArrived?: () => void;
  private dead = false;
  private connectionEnded = false;
  private receivingKeys = false;
  private collecting = false;
  private staleLocal = false;

  constructor(
    readonly remoteSdp: string | undefined,
    private readonly timeScale: number,
    readonly bridgeOnly: boolean,
    private readonly media: FakeMediaServer,
  ) {
    super();
    this.sdpAtCreation = remoteSdp ? freeswitchAnswer(remoteSdp) : FREESWITCH_OFFER;
  }

  get local(): { sdp: string } {
    if (this.staleLocal) throw new Error('endpoint.local is not refreshed after modify() (gateway/connections.ts): read it before');
    return { sdp: this.sdpAtCreation };
  }

  get endings(): number {
    return this.destroyCalls + this.hungUpByFreeswitch;
  }

  /** FreeSWITCH answers every further `name` command with "-ERR …". */
  refuse(name: string, reply = '-ERR refused by the test'): void {
    this.refusals.set(name, reply);
  }

  /** The caller presses keys (RFC 2833 events FreeSWITCH decodes into the channel's DTMF queue). */
  pressKeys(keys: string): void {
    for (const key of keys) {
      if (this.collecting) this.keys.push(key);
      if (this.receivingKeys && !this.dead) this.emit('dtmf', { dtmf: key, duration: '160', source: 'RTP' });
    }
    this.keyArrived?.();
  }

  receiveKeys(): void {
    this.receivingKeys = true;
  }

  /** FreeSWITCH hangs the channel up (media timeout, fs_cli); the event socket stays open a moment. */
  hangUpFromFreeswitch(): void {
    if (this.dead) return;
    this.markDead();
    this.hungUpByFreeswitch++;
    this.emit('destroy');
  }

  /**
   * FreeSWITCH is killed: the channel and its event socket are gone at once. fsmrf emits
   * "destroy" only when destroy() was not called first; a destroy() still waiting for the BYE
   * then ends with the connection (the adapter's race).
   */
  freeswitchDies(): void {
    const destroyedByApp = this.destroyCalls > 0;
    this.connectionEnded = true;
    if (!this.dead && !destroyedByApp) {
      this.markDead();
      this.hungUpByFreeswitch++;
      this.emit('destroy');
    }
    this.markDead();
    this.byeArrived?.();
  }

  async play(file: string): Promise<unknown> {
    const files = playedFiles(file);
    this.played.push(files);
    if (this.dead) return never();
    const endless = files.some((entry) => entry.includes('loops=-1'));
    let timer: NodeJS.Timeout | undefined;
    const end = await new Promise<'played' | 'stopped'>((resolve) => {
      this.stopPlayback = () => resolve('stopped');
      if (!endless) timer = setTimeout(() => resolve('played'), PLAYBACK_MS * this.timeScale);
    });
    clearTimeout(timer);
    this.stopPlayback = undefined;
    if (this.dead || end === 'stopped') return never();
    return { playbackSeconds: '1' };
  }

  async playCollect(options: PlayCollectOptions): Promise<PlayCollectResult> {
    await commandRead();
    this.collects.push(options);
    this.played.push(playedFiles(options.file));
    if (this.dead) return never();
    this.collecting = true;
    try {
      return await this.collect(options);
    } finally {
      this.collecting = false;
    }
  }

  private async collect(options: PlayCollectOptions): Promise<PlayCollectResult> {
    let collected = '';
    let terminated = false;
    const take = () => {
      while (this.keys.length > 0 && !terminated && collected.length < options.max) {
        const key = this.keys.shift()!;
        if (options.terminators.includes(key)) terminated = true;
        else collected += key;
      }
    };
    take();
    // As in FreeSWITCH, the first-key timeout starts once the prompts have played; a key stops them.
    if (collected === '' && !terminated && (await this.keyWithin(PLAYBACK_MS * this.timeScale))) take();
    while (!terminated && collected.length < options.max && !this.dead) {
      const waitMs = Math.max((collected === '' ? options.timeout : options.digitTimeout) * this.timeScale, KEY_WAIT_FLOOR_MS);
      if (!(await this.keyWithin(waitMs))) break;
      take();
    }
    if (this.dead) return never();
    if (collected === '') return { terminatorUsed: terminated ? '#' : undefined };
    const valid = collected.length >= options.min && new RegExp(options.regexp).test(collected);
    return valid ? { digits: collected, terminatorUsed: terminated ? '#' : undefined } : { invalidDigits: collected };
  }

  private async keyWithin(ms: number): Promise<boolean> {
    const gotKey = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.keyArrived = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    this.keyArrived = undefined;
    return gotKey;
  }

  async commandsTaken(): Promise<void> {
    await this.command('uuid_exists', this.uuid);
  }

  async command(name: string, args: string): Promise<string> {
    this.commands.push({ name, args });
    if (this.connectionEnded) throw new Error('endpoint no longer active');
    // Answered after everything sent before on the same event socket, as FreeSWITCH does.
    await commandRead();
    if (this.dead) throw new FreeswitchRefused(name, '-ERR No such channel!');
    const refusal = this.refusals.get(name);
    if (refusal) throw new FreeswitchRefused(name, refusal);
    if (name === 'uuid_flush_dtmf') this.keys.length = 0;
    if (name === 'uuid_recv_dtmf') this.pressKeys(args.split(' ')[1] ?? '');
    if (name === 'uuid_audio') this.readMuted = / start read mute /.test(` ${args} `);
    if (name === 'uuid_displace') this.displaced.push(args.split(' ')[2] ?? '');
    return name === 'uuid_exists' ? 'true' : '+OK';
  }

  async stopPlaying(): Promise<void> {
    this.stops++;
    await this.command('uuid_break', `${this.uuid} all`);
    this.stopPlayback?.();
  }

  /** fsmrf's bridge and unbridge are uuid_bridge and uuid_transfer, failing with the reply as the error's message. */
  private async fsmrfApi(name: string): Promise<void> {
    try {
      await this.command(name, this.uuid);
    } catch (error) {
      throw error instanceof FreeswitchRefused ? new Error(error.reply) : error;
    }
  }

  async bridge(other: MediaEndpoint): Promise<void> {
    await this.fsmrfApi('uuid_bridge');
    this.bridgedWith = other as unknown as FakeEndpoint;
  }

  async unbridge(): Promise<void> {
    this.unbridges++;
    await this.fsmrfApi('uuid_transfer');
    if (this.bridgedWith) this.bridgedWith.bridgedWith = undefined;
    this.bridgedWith = undefined;
  }

  async modify(sdp: string): Promise<string> {
    this.modified.push(sdp);
    // FreeSWITCH's answer depends on the offer: fixed as it arrives.
    const answer = this.modifyAnswer;
    await (this.modifyGate ?? tick());
    if (this.dead) throw new Error('invalid request to modify a completed dialog');
    // drachtio-srf 5.0.29 lib/dialog.js:362: a re-INVITE answered with a failure rejects with a SipError.
    if (answer === 488) throw new FakeSipError(488, 'Not Acceptable Here');
    // The adapter (gateway/connections.ts) reads the answer's SDP.
    if (answer === 'audio-off') throw new FreeswitchRefused('the re-INVITE', 'm=audio 0 (none of the offered codecs)');
    this.staleLocal = true;
    // A marker, not a real answer: tests see which offer FreeSWITCH answered.
    return `v=0 fs-answer-to(${sdp})`;
  }

  /** The channel is gone: it leaves its conference (the fake's own "gone" event). */
  private markDead(): void {
    if (this.dead) return;
    this.dead = true;
    this.emit('gone');
  }

  async join(conference: string, options: ConferenceJoinOptions): Promise<{ memberId: number; confUuid: string }> {
    this.joins.push({ conference, options });
    await commandRead();
    if (this.dead || this.refusals.has('conference')) return never();
    this.stopPlayback?.();
    const confUuid = this.media.addMember(conference, this);
    this.conference = conference;
    this.mutedInConference = options.flags?.mute === true;
    return { memberId: ++memberCounter, confUuid };
  }

  async destroy(): Promise<void> {
    this.destroyCalls++;
    this.stopPlayback?.();
    if (this.dead) return;
    this.markDead();
    await new Promise<void>((resolve) => {
      this.byeArrived = resolve;
      if (!this.byeWithheld) setTimeout(resolve, this.byeDelayMs);
    });
  }

  /** Whether a play_and_get_digits holds the channel, so keys arriving now are kept. */
  get holdsEntry(): boolean {
    return this.collecting;
  }

  /** Keys still queued in the channel. */
  get queuedKeys(): string {
    return this.keys.join('');
  }
}

export class FakeMediaServer implements MediaServer {
  readonly endpoints: FakeEndpoint[] = [];
  /** Lets a test hold endpoint creation until it calls the function. */
  createGate?: Promise<void>;
  /**
   * Errors for endpoint creations in the order they are asked for (the caller's first, then the
   * Jigasi leg's): drachtio-fsmrf rejects with "Connection timeout" when FreeSWITCH never connects back.
   */
  createFailures: Array<Error | undefined> = [];
  private creations = 0;

  constructor(private readonly timeScale = 0.001) {}

  async createEndpoint(options: EndpointOptions = {}): Promise<MediaEndpoint> {
    await (this.createGate ?? tick());
    const failure = this.createFailures[this.creations++];
    if (failure) throw failure;
    const endpoint = new FakeEndpoint(options.remoteSdp, this.timeScale, options.bridgeOnly ?? false, this);
    this.endpoints.push(endpoint);
    return endpoint;
  }

  /** The members of each conference, by name; a channel that ends leaves its conference. */
  readonly conferences = new Map<string, Set<FakeEndpoint>>();

  addMember(conference: string, member: FakeEndpoint): string {
    const members = this.conferences.get(conference) ?? new Set<FakeEndpoint>();
    this.conferences.set(conference, members);
    members.add(member);
    member.once('gone', () => {
      members.delete(member);
      if (members.size === 0) this.conferences.delete(conference);
    });
    return `conf-uuid-${conference}`;
  }

  /** FreeSWITCH is killed (SIGKILL): every channel and event socket goes at once. */
  die(): void {
    for (const endpoint of this.endpoints) endpoint.freeswitchDies();
  }
}
