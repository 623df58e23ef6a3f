import type { LiveCallView, LiveCalls, MuteOutcome } from '../provisioning/live-calls';
import type { HangUpReason } from './call-outcome';

/** A call as the registry holds it: something that can describe itself and be hung up. */
export interface RegisteredCall {
  readonly id: string;
  view(): LiveCallView;
  hangUp(reason: HangUpReason): void;
  endForMaintenance(): void;
  setMutedByAdmin(muted: boolean): Promise<MuteOutcome>;
}

/** The calls in progress on this node; feeds GET/DELETE /api/v1/calls and MAX_CALLS. */
export class CallRegistry implements LiveCalls {
  private readonly calls = new Map<string, RegisteredCall>();

  get size(): number {
    return this.calls.size;
  }

  add(call: RegisteredCall): void {
    this.calls.set(call.id, call);
  }

  remove(id: string): void {
    this.calls.delete(id);
  }

  list(): LiveCallView[] {
    return [...this.calls.values()].map((call) => call.view());
  }

  /** drachtio-server went away: nothing can be signalled any more, so every call just ends. */
  abandonAll(): void {
    for (const call of [...this.calls.values()]) call.hangUp('signalling-lost');
  }

  /** The service stops: every call is hung up on every side; resolves once all have ended, or after `withinMs`. */
  async endAll(withinMs: number): Promise<void> {
    for (const call of [...this.calls.values()]) call.hangUp('service-stopping');
    await this.emptied(withinMs);
  }

  /** After draining: callers in the conference hear why, then every call ends; resolves once all have, or after `withinMs`. */
  async endForMaintenance(withinMs: number): Promise<void> {
    for (const call of [...this.calls.values()]) call.endForMaintenance();
    await this.emptied(withinMs);
  }

  /** Resolves once no call is left, or after `withinMs`; true when none is left. */
  async emptied(withinMs: number, stop: AbortSignal | undefined = undefined): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (this.calls.size > 0 && Date.now() < deadline && !stop?.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.calls.size === 0;
  }

  /** An administrator hangs the call up (DELETE /api/v1/calls/{id}). */
  hangUp(id: string): boolean {
    const call = this.calls.get(id);
    if (!call) return false;
    call.hangUp('kicked');
    return true;
  }

  /** An administrator mutes or unmutes a caller (PATCH /api/v1/calls/{id}). */
  async setMuted(id: string, muted: boolean): Promise<MuteOutcome> {
    const call = this.calls.get(id);
    return call ? call.setMutedByAdmin(muted) : 'not-found';
  }
}
