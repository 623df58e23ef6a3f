/**
 * The FreeSWITCH of the test bed when it runs on this host: found through /proc, killed as a
 * crash would (SIGKILL), and started again exactly as it was started (command line, environment,
 * working directory), for the end-to-end case that loses FreeSWITCH mid-call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

/** The ports a second FreeSWITCH on this host takes, beside the test bed's (8021, 5080, RTP 20000–21999). */
export const SECOND_FREESWITCH = { eslPort: 8031, sipPort: 5085, rtpMin: 22000, rtpMax: 22999 } as const;

/**
 * A second FreeSWITCH with the test bed's command line and configuration, on its own ports and in
 * its own folders under `work` (FREESWITCH_SERVERS cases); kill it with killHard.
 */
export function startSecond(like: LocalFreeswitch, work: string): LocalFreeswitch & { process: ChildProcess } {
  const folders = ['-log', '-db', '-run'];
  const argv = like.argv.map((argument, index) => (folders.includes(like.argv[index - 1] ?? '') ? work : argument));
  const env = {
    ...like.env,
    FREESWITCH_PORT: String(SECOND_FREESWITCH.eslPort),
    FREESWITCH_SIP_PORT: String(SECOND_FREESWITCH.sipPort),
    RTP_PORT_MIN: String(SECOND_FREESWITCH.rtpMin),
    RTP_PORT_MAX: String(SECOND_FREESWITCH.rtpMax),
  };
  const output = openSync(`${work}/freeswitch-2.log`, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { env, cwd: work, stdio: ['ignore', output, output] });
  return { pid: child.pid!, argv, env, cwd: work, process: child };
}
