/**
 * The parts of drachtio-srf and drachtio-fsmrf the gateway uses, typed. drachtio-srf's own
 * declarations are incomplete and drachtio-fsmrf has none; the real objects satisfy these
 * interfaces as they are (see adapters in connections.ts), and the test fakes implement them.
 * Shapes follow the packages' source: drachtio-srf lib/srf.js, dialog.js, request.js and
 * drachtio-fsmrf lib/mediaserver.js, endpoint.js.
 */

/** A listener as node's EventEmitter types it, so the real emitters and the fakes both fit. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- node:events declares listeners with any[]
export type EventListener = (...args: any[]) => void;

export interface ParsedNameAddr {
  name?: string;
  uri: string;
  params: Record<string, string>;
}

export interface SipRequest {
  readonly method: string;
  /** The Request-URI. */
  readonly uri: string;
  readonly body: string;
  /** Address the request came from (set by drachtio-srf from drachtio-server's meta). */
  readonly source_address: string;
  /** Set by the gateway's first handler when a CANCEL arrives (drachtio emits "cancel" once). */
  canceled?: boolean;
  get(header: string): string | undefined;
  has(header: string): boolean;
  /** Throws when the header is absent or unparseable. */
  getParsedHeader(header: string): ParsedNameAddr;
  on(event: 'cancel', listener: () => void): unknown;
  off(event: string, listener: EventListener): unknown;
  /** For requests we sent (cbRequest of createUAC): sends CANCEL. */
  cancel(): void;
}

export interface SipResponse {
  readonly finalResponseSent: boolean;
  send(status: number, reason?: string, options?: { headers?: Record<string, string>; body?: string }): void;
}

/** A response to a request we sent inside a dialog (Dialog#request resolves with it). */
export interface SipResponseMessage {
  readonly status: number;
  readonly body?: string;
  get(header: string): string | undefined;
}

export interface SipDialog {
  readonly id: string;
  readonly local: { sdp: string };
  readonly remote: { sdp: string };
  /** Sends BYE; drachtio-srf emits no "destroy" for our own BYE, only for the far end's. */
  destroy(): Promise<unknown>;
  request(options: { method: string; headers?: Record<string, string>; body?: string }): Promise<SipResponseMessage>;
  on(event: 'destroy', listener: () => void): unknown;
  on(event: 'info', listener: (req: SipRequest, res: SipResponse) => void): unknown;
  off(event: string, listener: EventListener): unknown;
}

export interface UacOptions {
  localSdp?: string;
  headers: Record<string, string>;
  callingNumber?: string;
  callingName?: string;
  /** Credentials for a 401/407 challenge; drachtio-srf answers it and sends the INVITE again. */
  auth?: { username: string; password: string };
  /** Send the INVITE through this SIP URI (an outbound proxy). */
  proxy?: string;
}

export interface UacProgress {
  cbRequest?: (error: unknown, req: SipRequest) => void;
  cbProvisional?: (res: SipResponseMessage) => void;
}

/** The Srf methods used for calls. */
export interface SipServer {
  createUAS(req: SipRequest, res: SipResponse, options: { localSdp: string; headers?: Record<string, string> }): Promise<SipDialog>;
  /** Rejects with a SipError {status, reason} for a final non-2xx answer (487 after CANCEL). */
  createUAC(uri: string, options: UacOptions, progress?: UacProgress): Promise<SipDialog>;
}

export interface PlayCollectOptions {
  file: string;
  min: number;
  max: number;
  tries: number;
  /** Milliseconds to wait for the first digit once the prompt has played. */
  timeout: number;
  /** Milliseconds to wait between digits. */
  digitTimeout: number;
  terminators: string;
  invalidFile: string;
  regexp: string;
  varName: string;
}

export interface PlayCollectResult {
  digits?: string;
  invalidDigits?: string;
  terminatorUsed?: string;
}

export interface MediaEndpoint {
  readonly uuid: string;
  readonly local: { sdp: string };
  /** One file, or several as file_string://a!b. */
  play(file: string): Promise<unknown>;
  playCollect(options: PlayCollectOptions): Promise<PlayCollectResult>;
  /**
   * Resolves once FreeSWITCH has read every command sent before on this endpoint's connection,
   * so an application sent is queued on the channel. Until it runs, the parked channel drops keys.
   */
  commandsTaken(): Promise<void>;
  /**
   * A FreeSWITCH API command over this endpoint's connection; resolves with FreeSWITCH's reply,
   * rejects with FreeswitchRefused on "-ERR …" (a channel already gone: "-ERR No such channel!"),
   * and with drachtio-fsmrf's "endpoint no longer active" once the connection has ended.
   */
  command(name: string, args: string): Promise<string>;
  /** Stops what plays (uuid_break all). The promise of the stopped play never settles. */
  stopPlaying(): Promise<void>;
  bridge(other: MediaEndpoint): Promise<void>;
  /** Parks both legs of this endpoint's bridge (uuid_transfer -both park). */
  unbridge(): Promise<void>;
  /** A re-INVITE to FreeSWITCH offering `sdp`; resolves with FreeSWITCH's answer (SDP). */
  modify(sdp: string): Promise<string>;
  /**
   * drachtio-fsmrf's Endpoint#join: runs FreeSWITCH's conference application on the channel and
   * resolves once FreeSWITCH reports the member added. It never settles when the application
   * fails (no report comes), so callers race it against a deadline.
   */
  join(conference: string, options: ConferenceJoinOptions): Promise<{ memberId: number; confUuid: string }>;
  destroy(): Promise<void>;
  on(event: 'destroy', listener: () => void): unknown;
  /**
   * Subscribes to FreeSWITCH's DTMF events, off until then: during PIN entry
   * play_and_get_digits takes the keys itself and each event would carry every channel variable.
   */
  receiveKeys(): void;
  /** A key FreeSWITCH decoded from the caller's RFC 2833/4733 events, once receiveKeys() was called. */
  on(event: 'dtmf', listener: (event: { dtmf: string }) => void): unknown;
  off(event: string, listener: EventListener): unknown;
}

export interface ConferenceJoinOptions {
  /** A profile of freeswitch-config's conference.conf.xml. */
  profile: string;
  /** Member flags; `mute`: FreeSWITCH mixes nothing the member says into the conference. */
  flags?: { mute?: boolean };
}

export interface EndpointOptions {
  /** Without remoteSdp the endpoint is created 3pcc: its local SDP is an offer. */
  remoteSdp?: string;
  /**
   * The endpoint is only ever bridged: FreeSWITCH does not report the end of an application on
   * it (each report ~12 KB) until an application runs, which turns the reports on first.
   */
  bridgeOnly?: boolean;
}

export interface MediaServer {
  createEndpoint(options?: EndpointOptions): Promise<MediaEndpoint>;
}

/** FreeSWITCH answered an API command with "-ERR …". */
export class FreeswitchRefused extends Error {
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super(`FreeSWITCH refused ${command}: ${reply}`);
    this.name = 'FreeswitchRefused';
  }
}

export interface SipError {
  status: number;
  reason?: string;
}

export function sipStatusOf(error: unknown): number | undefined {
  const status = (error as Partial<SipError> | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}
