import type { Logger } from 'pino';
import type { LiveCallView, LiveCalls, MuteOutcome } from './live-calls';

/** Calls of this process published for the others, actions asked of the process that owns a call. */
export interface ClusterTable {
  /** Says this process is alive, replaces its published calls, and answers the calls of the processes alive since `aliveSince`. */
  exchange(node: string, calls: LiveCallView[], at: number, aliveSince: number): Promise<LiveCallView[]>;
  /** Asks the process that owns `callId` to hang it up, mute or unmute it; the action's id. */
  requestAction(callId: string, action: CallAction, at: number): Promise<number>;
  /** Actions asked for these calls and not answered yet. */
  pendingActions(callIds: string[]): Promise<Array<{ id: number; callId: string; action: CallAction }>>;
  answerAction(id: number, result: string): Promise<void>;
  /** The answer to an action, or undefined while the owner has not answered. */
  actionResult(id: number): Promise<string | undefined>;
  /** Forgets this process's calls (it stops), and actions and processes older than `before`. */
  leave(node: string): Promise<void>;
  purge(before: number): Promise<void>;
}

export type CallAction = 'hang-up' | 'mute' | 'unmute';

/** How often each process publishes its calls and takes the actions asked of it: a kick from another process takes at most this long. */
export const CLUSTER_SYNC_MS = 1_000;
/** A process not heard from for this long is taken as gone, with its calls. */
const ALIVE_WITHIN_MS = 5_000;
/**
 * How long an administrator's mute through another process waits for the owner's answer: the
 * owner's next sync, plus an unmute's wait for Jigasi's muteResponse (5 s, conference-controls.ts).
 */
const ANSWER_WITHIN_MS = 10_000;

/**
 * GET/DELETE/PATCH /api/v1/calls for every process sharing one PostgreSQL database: this
 * process's calls from its registry, the others' from what they publish every second; an action on
 * another process's call is asked through the database and done by its owner.
 */
export class ClusterCalls implements LiveCalls {
  private remote: LiveCallView[] = [];
  private timer?: NodeJS.Timeout;
  private syncing = false;

  constructor(
    private readonly local: LiveCalls,
    private readonly table: ClusterTable,
    private readonly node: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.syncSoon(), CLUSTER_SYNC_MS);
    this.syncSoon();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.table.leave(this.node);
  }

  list(): LiveCallView[] {
    const own = this.local.list();
    const ownIds = new Set(own.map((call) => call.id));
    return [...own, ...this.remote.filter((call) => !ownIds.has(call.id))];
  }

  hangUp(id: string): boolean {
    if (this.local.hangUp(id)) return true;
    if (!this.remote.some((call) => call.id === id)) return false;
    this.table.requestAction(id, 'hang-up', this.now()).catch((error: unknown) => this.log.error({ err: error, callId: id }, 'could not ask the owning process to hang up'));
    return true;
  }

  async setMuted(id: string, muted: boolean): Promise<MuteOutcome> {
    const local = await this.local.setMuted(id, muted);
    if (local !== 'not-found' || !this.remote.some((call) => call.id === id)) return local;
    const action = await this.table.requestAction(id, muted ? 'mute' : 'unmute', this.now());
    const deadline = this.now() + ANSWER_WITHIN_MS;
    while (this.now() < deadline) {
      const result = await this.table.actionResult(action);
      if (result !== undefined) return result as MuteOutcome;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return 'not-in-conference';
  }

  private syncSoon(): void {
    if (this.syncing) return;
    this.syncing = true;
    this.sync()
      .catch((error: unknown) => this.log.warn({ err: error }, 'could not exchange live calls with the other processes'))
      .finally(() => (this.syncing = false));
  }

  private async sync(): Promise<void> {
    const now = this.now();
    const own = this.local.list();
    this.remote = (await this.table.exchange(this.node, own, now, now - ALIVE_WITHIN_MS)).filter((call) => !own.some((mine) => mine.id === call.id));
    for (const { id, callId, action } of await this.table.pendingActions(own.map((call) => call.id))) {
      const result = action === 'hang-up' ? (this.local.hangUp(callId) ? 'done' : 'not-found') : await this.local.setMuted(callId, action === 'mute');
      await this.table.answerAction(id, result);
    }
    await this.table.purge(now - 60_000);
  }
}
