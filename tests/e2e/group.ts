import type { Gateway } from '../../tools/testbed/stack';

/** Cases that share one running gateway (and whatever else the group starts for them). */
export interface E2eGroup {
  /** Why the whole group cannot run here (servers of its own missing), or undefined. */
  skipReason?(): Promise<string | undefined>;
  start(work: string): Promise<{ gateway: Gateway; stop(): Promise<void> }>;
  /** Each resolves to what went wrong, or undefined when the case passed; one with a skip reason is not run. */
  cases: Array<{ name: string; skipReason?(): string | undefined; run(gateway: Gateway, work: string): Promise<string | undefined> }>;
}
