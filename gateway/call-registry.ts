import type { LiveCallView, LiveCalls } from '../provisioning/live-calls';

/** A call as the registry holds it: something that can describe itself and be hung up. */
export interface RegisteredCall {
  readonly id: string;
  view(): LiveCallView;
  /** An administrator hangs the call up (DELETE /api/v1/calls/{id}). */
  kick(): void;
  /** drachtio-server went away: nothing can be signalled any more, so the call just ends. */
  abandon(): void;
  /** The service stops: the call is hung up on every side. */
  end(): void;
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

  /** Hangs every call up and resolves once all have ended, or after `withinMs`. */
  async endAll(withinMs: number): Promise<void> {
    for (const call of [...this.calls.values()]) call.end();
    const deadline = Date.now() + withinMs;
    while (this.calls.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  hangUp(id: string): boolean {
    const call = this.calls.get(id);
    if (!call) return false;
    call.kick();
    return true;
  }
}
