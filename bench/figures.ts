/** Figures of the processes under a bench: CPU and memory from /proc, the gateway's calls from its API. */
import { readFileSync, readdirSync } from 'node:fs';
import { liveCalls, sleep, type Gateway } from '../tools/testbed/stack';

const CLOCK_TICKS = 100;

/** The first process on this machine whose /proc/<pid>/`file` (comm, cmdline) satisfies `matches`. */
export function processWhere(file: 'comm' | 'cmdline', matches: (text: string) => boolean): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (matches(readFileSync(`/proc/${entry}/${file}`, 'utf8'))) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

/** FreeSWITCH's process when it runs on this machine (the e2e test bed), for its CPU figure. */
export const localFreeswitchPid = () => processWhere('comm', (name) => name.trim() === 'freeswitch');

export function processFigures(pid: number): { cpuSeconds: number; rssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const cpuSeconds = (Number(stat[11]) + Number(stat[12])) / CLOCK_TICKS;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSeconds, rssKb };
}

/** The gateway's calls. On a saturated machine one poll can fail (a reset connection); only a third in a row ends the bench. */
export async function gatewayCalls(gateway: Gateway): Promise<Array<{ state: string; sharedLeg?: string; listeners?: number }>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await liveCalls(gateway);
    } catch (error) {
      if (gateway.process.exitCode !== null) {
        throw new Error(`the gateway exited with ${gateway.process.exitCode}; its last output:\n${gateway.log.join('').slice(-4000)}`, { cause: error });
      }
      if (attempt === 3) throw new Error(`polling the gateway's calls failed ${attempt} times`, { cause: error });
      await sleep(200);
    }
  }
}
