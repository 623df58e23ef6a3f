/**
 * What the admin API sees of dial-outs (SPEC §6): calls the gateway places into a room.
 * gateway/dial-outs.ts implements it.
 */
export type DialOutState = 'calling' | 'ringing' | 'waiting-for-key' | 'bridged' | 'ended';

export interface DialOutView {
  id: string;
  room: string;
  label: string | null;
  /** Masked (core/privacy.ts). */
  number: string;
  state: DialOutState;
  /** How it ended (gateway/call-outcome.ts), once it has. */
  outcome?: string;
  startedAt: number;
  endedAt?: number;
}

/** The room a dial-out brings its callee into, as the directory knows it. */
export interface DialOutRoom {
  room: string;
  roomJid: string;
  password: string | null;
  startMuted: boolean;
}

/** Why a dial-out was not placed; the API's status and code follow from it. */
export type DialOutRefusal =
  /** Not a telephone number, outside DIALOUT_ALLOWED or on the deny list: 422 number-not-allowed. */
  | 'number-not-allowed'
  /** DIALOUT_MAX_PER_HOUR or DIALOUT_MAX_CONCURRENT reached: 429. */
  | 'too-many'
  /** No registered trunk, FreeSWITCH or drachtio-server away, MAX_CALLS reached: 503. */
  | 'unavailable';

export type DialOutPlacement = { placed: true; dialOut: DialOutView } | { placed: false; refusal: DialOutRefusal; detail: string };

export interface DialOuts {
  place(request: { number: string; label: string | null; room: DialOutRoom }): Promise<DialOutPlacement>;
  /** A dial-out in progress, or one that ended (from its call record). */
  get(id: string): Promise<DialOutView | undefined>;
  /** Hangs a dial-out in progress up as kicked; false when no such dial-out is live. */
  hangUp(id: string): boolean;
}
