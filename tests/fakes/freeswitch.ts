import { EventEmitter } from 'node:events';
import type { EndpointOptions, MediaEndpoint, MediaServer, PlayCollectOptions, PlayCollectResult } from '../../gateway/sip';

/**
 * Fakes of drachtio-fsmrf's MediaServer and Endpoint (lib/mediaserver.js, lib/endpoint.js of
 * drachtio-fsmrf 4.1), with the FreeSWITCH behaviour the call flow relies on:
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
 * - bridgeOnly is only recorded: the real endpoint starts with application ends unreported and
 *   the gateway's adapter turns them on before any application, so applications still run;
 * - Endpoint#destroy hangs up and emits nothing; a hang-up from FreeSWITCH emits "destroy";
 * - after FreeSWITCH hung up a channel, play and playCollect never settle (the real ESL
 *   callback never fires), which is why the gateway races them against the call's end.
 * Time is compressed: FreeSWITCH's millisecond timeouts pass `timeScale` times faster.
 */

const tick = async () => new Promise<void>((resolve) => setImmediate(resolve));
/** How long a playback lasts, in FreeSWITCH's (compressed) milliseconds. */
const PLAYBACK_MS = 20_000;
/** FreeSWITCH reads a command off the event socket a moment after it was sent, in order. */
const commandRead = async () => new Promise<void>((resolve) => setTimeout(resolve, 1));

const playedFiles = (file: string): string[] => (file.startsWith('file_string://') ? file.slice('file_string://'.length).split('!') : [file]);

let endpointCounter = 0;

export class FakeEndpoint extends EventEmitter implements MediaEndpoint {
  readonly uuid = `fs-uuid-${++endpointCounter}`;
  readonly local: { sdp: string };
  readonly played: string[][] = [];
  readonly collects: PlayCollectOptions[] = [];
  readonly apiCalls: Array<{ command: string; args?: string | string[] }> = [];
  readonly executed: Array<{ app: string; arg?: string }> = [];
  readonly modified: string[] = [];
  bridgedWith?: FakeEndpoint;
  unbridges = 0;
  /** Whether FreeSWITCH drops what the caller says (uuid_audio … read mute). */
  readMuted = false;
  /** Files mixed into what the caller hears (uuid_displace). */
  readonly displaced: string[] = [];
  /** Calls of stopPlaying(). */
  stops = 0;
  /** Calls of destroy() by the app. */
  destroyCalls = 0;
  /** Hang-ups that came from FreeSWITCH's side. */
  hungUpByFreeswitch = 0;
  private readonly keys: string[] = [];
  private stopPlayback?: () => void;
  private keyArrived?: () => void;
  private dead = false;
  private receivingKeys = false;
  private collecting = false;

  constructor(
    readonly remoteSdp: string | undefined,
    private readonly timeScale: number,
    readonly bridgeOnly: boolean,
  ) {
    super();
    this.local = { sdp: remoteSdp ? `v=0 fs-answer-to(${remoteSdp})` : 'v=0 fs-offer' };
  }

  get endings(): number {
    return this.destroyCalls + this.hungUpByFreeswitch;
  }

  /** The caller presses keys (RFC 2833 events FreeSWITCH decodes into the channel's DTMF queue). */
  pressKeys(keys: string): void {
    for (const key of keys) {
      if (this.collecting) this.keys.push(key);
      if (this.receivingKeys) this.emit('dtmf', { dtmf: key, duration: '160', source: 'RTP' });
    }
    this.keyArrived?.();
  }

  receiveKeys(): void {
    this.receivingKeys = true;
  }

  /** FreeSWITCH hangs the channel up (media timeout, crash, fs_cli). */
  hangUpFromFreeswitch(): void {
    this.dead = true;
    this.hungUpByFreeswitch++;
    this.emit('destroy');
  }

  async play(file: string): Promise<unknown> {
    const files = playedFiles(file);
    this.played.push(files);
    if (this.dead) return new Promise(() => undefined);
    const endless = files.some((entry) => entry.includes('loops=-1'));
    const end = await new Promise<'played' | 'stopped'>((resolve) => {
      this.stopPlayback = () => resolve('stopped');
      if (!endless) setTimeout(() => resolve('played'), PLAYBACK_MS * this.timeScale);
    });
    this.stopPlayback = undefined;
    if (this.dead || end === 'stopped') return new Promise(() => undefined);
    return { playbackSeconds: '1' };
  }

  async playCollect(options: PlayCollectOptions): Promise<PlayCollectResult> {
    await commandRead();
    this.collects.push(options);
    this.played.push(playedFiles(options.file));
    if (this.dead) return new Promise(() => undefined);
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
      const waitMs = (collected === '' ? options.timeout : options.digitTimeout) * this.timeScale;
      if (!(await this.keyWithin(waitMs))) break;
      take();
    }
    if (this.dead) return new Promise(() => undefined);
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
    if (this.dead) throw new Error('endpoint no longer active');
    await commandRead();
  }

  async api(command: string, args?: string | string[]): Promise<unknown> {
    this.apiCalls.push({ command, args });
    if (this.dead) throw new Error('endpoint no longer active');
    const argText = Array.isArray(args) ? args.join(' ') : (args ?? '');
    if (command === 'uuid_flush_dtmf') this.keys.length = 0;
    if (command === 'uuid_recv_dtmf') this.pressKeys(argText.split(' ')[1] ?? '');
    if (command === 'uuid_audio') this.readMuted = / start read mute /.test(` ${argText} `);
    if (command === 'uuid_displace') this.displaced.push(argText.split(' ')[2] ?? '');
    await tick();
    return { getBody: () => '+OK' };
  }

  async execute(app: string, arg?: string): Promise<unknown> {
    this.executed.push({ app, arg });
    await tick();
    return {};
  }

  async stopPlaying(): Promise<void> {
    this.stops++;
    if (this.dead) throw new Error('endpoint no longer active');
    this.stopPlayback?.();
    await tick();
  }

  async bridge(other: MediaEndpoint): Promise<void> {
    this.bridgedWith = other as FakeEndpoint;
    await tick();
  }

  async unbridge(): Promise<void> {
    this.unbridges++;
    if (this.bridgedWith) this.bridgedWith.bridgedWith = undefined;
    this.bridgedWith = undefined;
    await tick();
  }

  async modify(sdp: string): Promise<unknown> {
    this.modified.push(sdp);
    await tick();
    return {};
  }

  async destroy(): Promise<void> {
    this.destroyCalls++;
    this.dead = true;
    this.stopPlayback?.();
    await tick();
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
    const endpoint = new FakeEndpoint(options.remoteSdp, this.timeScale, options.bridgeOnly ?? false);
    this.endpoints.push(endpoint);
    return endpoint;
  }
}
