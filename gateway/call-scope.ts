import type { Logger } from 'pino';
import type { HangUpReason } from './call-outcome';
import type { EventListener } from './sip';

/**
 * What one call owns and how it all ends with the call: the SIP dialogs and FreeSWITCH
 * endpoints (each destroyed once, and never when the far end already ended it), the timers
 * and event listeners of the call's units, and the work they start. Once the call is
 * cancelled every `guard`ed wait rejects with CallEnded, every timer is cleared, and at
 * `close` every listener is removed. `run` is the error boundary of the call's units: a
 * failure is logged with the call's logger and ends this call, never the process.
 */

/** Why the call's work stops: hung up from outside, or its story is over and it tears down. */
export type EndReason = HangUpReason | 'finished';

/** Thrown into every guarded wait once the call is cancelled. */
export class CallEnded extends Error {
  constructor(readonly reason: EndReason) {
    super(`call ended: ${reason}`);
    this.name = 'CallEnded';
  }
}

/** Something the call listens to: drachtio-srf's requests and dialogs, drachtio-fsmrf's endpoints. */
export interface Emitter {
  on(event: string, listener: EventListener): unknown;
  off(event: string, listener: EventListener): unknown;
}

export interface Destroyable {
  destroy(): Promise<unknown>;
}

/**
 * How long teardown waits for a dialog's BYE to be answered or an endpoint's channel to hang
 * up. A far end that never answers (drachtio-server gives up on a BYE after 32 s; FreeSWITCH
 * killed never sends its BYE) must not keep the call in the registry and its record open.
 */
export const DESTROY_WITHIN_MS = 5_000;

export class CallScope {
  private cancellation?: CallEnded;
  private rejectCancelled!: (ended: CallEnded) => void;
  private readonly cancelled: Promise<never>;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly removeListeners: Array<() => void> = [];
  /** Dialogs and endpoints the far side already ended: destroying them again would send a second BYE. */
  private readonly gone = new WeakSet<object>();
  private readonly destroyed = new WeakSet<object>();

  constructor(
    private readonly log: Logger,
    /** Called once for the first failure `run` or a listener catches while the call is live. */
    private readonly onFailure: (error: unknown) => void,
    private readonly destroyWithinMs = DESTROY_WITHIN_MS,
  ) {
    this.cancelled = new Promise<never>((_resolve, reject) => (this.rejectCancelled = reject));
    this.cancelled.catch(() => undefined);
  }

  /** Why the call was cancelled, or undefined while it goes on. */
  get cancelledBy(): EndReason | undefined {
    return this.cancellation?.reason;
  }

  /** Stops the call's work; the first reason wins. Returns false when it was already cancelled. */
  cancel(reason: EndReason): boolean {
    if (this.cancellation) return false;
    this.cancellation = new CallEnded(reason);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.rejectCancelled(this.cancellation);
    return true;
  }

  /** Waits for an operation unless the call is cancelled first. */
  async guard<T>(operation: Promise<T>): Promise<T> {
    if (this.cancellation) {
      operation.catch(() => undefined);
      throw this.cancellation;
    }
    return Promise.race([operation, this.cancelled]);
  }

  /**
   * Starts work the call does not wait for. CallEnded just stops it; any other failure is
   * logged and ends the call (while it is live: a command racing the call's end is expected).
   */
  run(what: string, task: () => Promise<unknown>): void {
    task().catch((error: unknown) => this.failed(what, error));
  }

  /** Runs `listener` for `event` until `close`; a throw in it is a failure of the call, not of the process. */
  on<Args extends unknown[]>(emitter: Emitter, event: string, listener: (...args: Args) => void): void {
    const guarded = (...args: Args) => {
      try {
        listener(...args);
      } catch (error) {
        this.failed(`handling ${event}`, error);
      }
    };
    emitter.on(event, guarded);
    this.removeListeners.push(() => emitter.off(event, guarded));
  }

  /** A timer that ends with the call; none once the call is cancelled. */
  after(ms: number, callback: () => void): NodeJS.Timeout | undefined {
    if (this.cancellation) return undefined;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  /** Waits `ms` unless the call is cancelled first (then rejects with CallEnded). */
  async pause(ms: number): Promise<void> {
    await this.guard(new Promise<void>((resolve) => this.after(ms, resolve)));
  }

  /** A repeating timer that ends with the call; none once the call is cancelled. */
  every(ms: number, callback: () => void): NodeJS.Timeout | undefined {
    if (this.cancellation) return undefined;
    const timer = setInterval(callback, ms);
    this.timers.add(timer);
    return timer;
  }

  clear(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  /**
   * Waits for a dialog or endpoint being created. If the call is cancelled first, the resource
   * is destroyed as soon as it arrives instead of leaking.
   */
  async own<T extends Destroyable>(creation: Promise<T>, adopt: (resource: T) => void): Promise<T> {
    const adopted = creation.then((resource) => {
      if (this.cancellation) this.run('destroying a late resource', async () => this.destroy(resource));
      else adopt(resource);
      return resource;
    });
    return this.guard(adopted);
  }

  /** The far end ended this dialog or endpoint itself. */
  markGone(resource: object): void {
    this.gone.add(resource);
  }

  /** Neither ended by the far end nor destroyed by us. */
  isLive(resource: object): boolean {
    return !this.gone.has(resource) && !this.destroyed.has(resource);
  }

  /**
   * Ends a dialog (BYE) or an endpoint (its FreeSWITCH channel) once. Never rejects, and waits
   * at most `destroyWithinMs`: teardown goes on without an answer.
   */
  async destroy(resource: Destroyable | undefined): Promise<void> {
    if (!resource || !this.isLive(resource)) return;
    this.destroyed.add(resource);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.destroyWithinMs)));
    const ending = Promise.resolve()
      .then(async () => resource.destroy())
      .then(
      () => 'ended' as const,
      (error: unknown) => {
        this.log.debug({ err: error }, 'teardown: the far end had already ended it');
        return 'ended' as const;
      },
    );
    if ((await Promise.race([ending, deadline])) === 'late') {
      this.log.warn({ waitedMs: this.destroyWithinMs }, 'teardown: no answer from the far end; going on without it');
    }
    clearTimeout(timer);
  }

  /** Removes every listener the call attached and clears what timers are left. */
  close(): void {
    this.cancel('finished');
    for (const remove of this.removeListeners.splice(0)) remove();
  }

  private failed(what: string, error: unknown): void {
    if (error instanceof CallEnded) return;
    if (this.cancellation) {
      this.log.debug({ err: error, task: what }, 'failed as the call ended');
      return;
    }
    this.log.error({ err: error, task: what }, `${what} failed; ending the call`);
    this.onFailure(error);
  }
}
