/**
 * How a call ended, as its call record and /metrics say it (SPEC §4 step 10), and what can end
 * a call from outside its story.
 */

export type CallOutcome =
  | 'answered-no-pin'
  | 'pin-failed'
  | 'locked-out'
  | 'not-open'
  | 'jigasi-failed'
  /**
   * FreeSWITCH could not give the call its media before the conference (e.g. no endpoint), or
   * the gateway failed the call unexpectedly then (logged as "call failed" and counted in
   * dialin_unexpected_errors_total).
   */
  | 'media-failed'
  | 'completed'
  | 'cancelled'
  | 'kicked'
  /** The gateway was stopped during the call and hung it up. */
  | 'service-stopped'
  /** A dial-out nobody answered: busy, rejected, unreachable, or ringing too long. */
  | 'not-answered'
  /** A dial-out answered, but 1 was not pressed: another key, no key (a voicemail), or hung up. */
  | 'declined';

export type HangUpReason =
  | 'caller-hung-up'
  | 'cancelled'
  | 'jigasi-hung-up'
  | 'kicked'
  | 'media-lost'
  | 'service-stopping'
  | 'signalling-lost'
  /** Something the gateway did for the call failed unexpectedly; the error is logged and counted. */
  | 'failed';

/** Dial-in: screening → answering → collecting → connecting; dial-out: calling → ringing → waiting-for-key → connecting. */
export type CallState = 'screening' | 'answering' | 'collecting' | 'calling' | 'ringing' | 'waiting-for-key' | 'connecting' | 'bridged' | 'ending' | 'ended';

/** The outcome of a call hung up from outside in `state`; `wrongPins` tells a guesser from a caller who typed nothing. */
export function outcomeOfHangUp(reason: HangUpReason, state: CallState, wrongPins: number): CallOutcome {
  if (reason === 'kicked') return 'kicked';
  if (reason === 'service-stopping') return 'service-stopped';
  if (reason === 'cancelled') return 'cancelled';
  const mediaBroke = reason === 'media-lost' || reason === 'failed';
  switch (state) {
    case 'bridged':
      return 'completed';
    case 'connecting':
      if (reason === 'caller-hung-up') return 'cancelled';
      return mediaBroke ? 'media-failed' : 'jigasi-failed';
    case 'collecting':
      return wrongPins > 0 ? 'pin-failed' : 'answered-no-pin';
    case 'answering':
      // A BYE comes only after our 200 OK (before it, the caller CANCELs): answered, no PIN typed.
      if (reason === 'caller-hung-up') return 'answered-no-pin';
      return mediaBroke ? 'media-failed' : 'cancelled';
    case 'calling':
    case 'ringing':
      return mediaBroke ? 'media-failed' : 'not-answered';
    case 'waiting-for-key':
      return mediaBroke ? 'media-failed' : 'declined';
    default:
      return mediaBroke ? 'media-failed' : 'cancelled';
  }
}
