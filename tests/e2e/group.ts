import type { Gateway } from '../../tools/testbed/stack';

/** Cases that share one running gateway (and whatever else the group starts for them). */
export interface E2eGroup {
  start(work: string): Promise<{ gateway: Gateway; stop(): Promise<void> }>;
  /** Each resolves to what went wrong, or undefined when the case passed. */
  cases: Array<{ name: string; run(gateway: Gateway, work: string): Promise<string | undefined> }>;
}
