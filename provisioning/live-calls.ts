/**
 * What the admin API sees of calls in progress. The gateway's call registry implements
 * it; the API never reaches into call control otherwise.
 */
export interface LiveCallView {
  id: string;
  /** 'in': dialled in; 'out': a dial-out the gateway placed. */
  direction: 'in' | 'out';
  room: string | null;
  pinId: string | null;
  label: string | null;
  /** The PIN's role once the caller is known (a dial-out's callee speaks); null while the PIN is typed. */
  role: 'speaker' | 'listener' | null;
  /** Masked (core/privacy.ts); for a dial-out, the number called. */
  caller: string;
  state: string;
  muted: boolean;
  startedAt: number;
  /** A listener of a room whose listeners share one Jigasi leg: the id of that leg (listed too). */
  sharedLeg?: string;
  /** The shared leg itself (label LISTENER_DISPLAY_NAME): how many listeners it carries. */
  listeners?: number;
}

/** What came of an administrator's mute or unmute: done, or why not. */
export type MuteOutcome = 'muted' | 'unmuted' | 'listener' | 'refused-by-freeswitch' | 'refused-by-jitsi' | 'not-in-conference' | 'not-found';

export interface LiveCalls {
  list(): LiveCallView[];
  /** Hangs the call up as kicked by an administrator; false when no such call is live. */
  hangUp(id: string): boolean;
  /** Mutes or unmutes a caller in the conference as a moderator would (the caller hears it, Jitsi learns it). */
  setMuted(id: string, muted: boolean): Promise<MuteOutcome>;
}
