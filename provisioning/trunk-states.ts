/**
 * What the admin API sees of the trunks the gateway registers with (SPEC §6 "Trunks").
 * gateway/trunks.ts implements it; never a password.
 */
export type TrunkState = 'registered' | 'failing' | 'off';

export interface TrunkStatus {
  name: string;
  /** The registrar registered with, or tried last. */
  registrar: string;
  state: TrunkState;
  /** The last final status of a REGISTER (408: no answer), null before the first. */
  lastStatus: number | null;
  /** When the state last changed (ms since the epoch). */
  since: number;
  /** When the current registration ends unless refreshed. */
  expiresAt: number | null;
}

export interface TrunkStates {
  list(): TrunkStatus[];
}
