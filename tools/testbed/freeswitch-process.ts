/**
 * The FreeSWITCH of the test bed when it runs on this host: found through /proc, killed as a
 * crash would (SIGKILL), and started again exactly as it was started (command line, environment,
 * working directory), for the end-to-end case that loses FreeSWITCH mid-call.
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface LocalFreeswitch {
  pid: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

export function findLocalFreeswitch(): LocalFreeswitch | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'freeswitch') continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const env = Object.fromEntries(
        readFileSync(`/proc/${entry}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
      );
      return { pid: Number(entry), argv, env, cwd: readlinkSync(`/proc/${entry}/cwd`) };
    } catch {
      // the process ended while we looked, or is not ours to read
    }
  }
  return undefined;
}

export function killHard(freeswitch: LocalFreeswitch): void {
  process.kill(freeswitch.pid, 'SIGKILL');
}

/** Starts FreeSWITCH again as it was started; it outlives the suite, as the one it replaces would have. */
export function restart(freeswitch: LocalFreeswitch, logFile: string): void {
  const output = openSync(logFile, 'a');
  const child = spawn(freeswitch.argv[0]!, freeswitch.argv.slice(1), { env: freeswitch.env, cwd: freeswitch.cwd, detached: true, stdio: ['ignore', output, output] });
  child.unref();
}
