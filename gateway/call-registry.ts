import type { LiveCallView, LiveCalls } from '../provisioning/live-calls';

/** A call as the registry holds it: something that can describe itself and be hung up. */
export interface RegisteredCall {
  readonly id: string;
  view(): LiveCallView;
  /** An administrator hangs the call up (DELETE /api/v1/calls/{id}). */
  kick(): void;
  /** drachtio-server went away: nothing can be signalled any more, so the call just ends. */
  abandon(): void;
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

  abandonAll(): void {
    for (const call of [...this.calls.values()]) call.abandon();
  }

  hangUp(id: string): boolean {
    const call = this.calls.get(id);
    if (!call) return false;
    call.kick();
    return true;
  }
}
