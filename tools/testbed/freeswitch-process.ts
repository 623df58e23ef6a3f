/**
 * The FreeSWITCH processes of the test bed on this host, found by what they are rather than by
 * the PID of whatever was started: the test bed's own is the freeswitch process that holds the
 * event-socket port (through /proc), a second one this suite starts is known by the pid file in
 * its run folder. FreeSWITCH started the usual way for a daemon (`-nc` without `-nf`) forks
 * away from the PID that started it, so a child's PID says nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface LocalFreeswitch {
  pid: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/** Inodes of the TCP sockets listening on `port` (IPv4 and IPv6). */
function listeningSocketInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields[1]?.endsWith(`:${portHex}`) && fields[3] === '0A' && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  return inodes;
}

function holdsSocket(pid: string, inodes: Set<string>): boolean {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
    if (target !== undefined && inodes.has(target)) return true;
  }
  return false;
}

/** The freeswitch process on this host whose event socket listens on `eslPort`. */
export function findLocalFreeswitch(eslPort = Number(process.env.FREESWITCH_PORT ?? 8021)): LocalFreeswitch | undefined {
  const inodes = listeningSocketInodes(eslPort);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'freeswitch' || !holdsSocket(entry, inodes)) continue;
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

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

/** SIGKILL, as a crash would; a process already gone is no error. Resolves once it is gone (at most 5 s). */
export async function killHard(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
    throw new Error(`killing FreeSWITCH ${pid}: ${(error as Error).message}`, { cause: error });
  }
  for (let waited = 0; waited < 5_000 && alive(pid); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive(pid)) throw new Error(`FreeSWITCH ${pid} was still running 5 s after SIGKILL`);
}

/** Starts FreeSWITCH again as it was started; it outlives the suite, as the one it replaces would have. */
export function restart(freeswitch: LocalFreeswitch, logFile: string): void {
  const output = openSync(logFile, 'a');
  const child = spawn(freeswitch.argv[0]!, freeswitch.argv.slice(1), { env: freeswitch.env, cwd: freeswitch.cwd, detached: true, stdio: ['ignore', output, output] });
  child.unref();
}

/** The ports a second FreeSWITCH on this host takes, beside the test bed's (8021, 5080, RTP 20000–21999). */
export const SECOND_FREESWITCH = { eslPort: 8031, sipPort: 5085, rtpMin: 22000, rtpMax: 22999 } as const;

/** FreeSWITCH's flags that name a folder it writes to; the second one gets its own. */
const FOLDER_FLAGS = ['-log', '-db', '-run', '-temp', '-cache'];

export interface SecondFreeswitch {
  /** SIGKILL, as a crash would; nothing when it is gone already. */
  kill(): Promise<void>;
}

/**
 * A second FreeSWITCH with the test bed's command line and configuration, on its own ports and
 * with every folder it writes under `work`. It always runs in the foreground (`-nf`), whatever the
 * test bed's command line says, and is found again through its own pid file.
 */
export function startSecond(like: LocalFreeswitch, work: string): SecondFreeswitch {
  const kept = like.argv.slice(1).filter((argument, index, all) => argument !== '-nf' && !FOLDER_FLAGS.includes(argument) && !FOLDER_FLAGS.includes(all[index - 1] ?? ''));
  const argv = [like.argv[0]!, ...kept, '-nf', ...FOLDER_FLAGS.flatMap((flag) => [flag, work])];
  const env = {
    ...like.env,
    FREESWITCH_PORT: String(SECOND_FREESWITCH.eslPort),
    FREESWITCH_SIP_PORT: String(SECOND_FREESWITCH.sipPort),
    RTP_PORT_MIN: String(SECOND_FREESWITCH.rtpMin),
    RTP_PORT_MAX: String(SECOND_FREESWITCH.rtpMax),
  };
  const output = openSync(join(work, 'freeswitch-2.log'), 'a');
  const child = spawn(argv[0]!, argv.slice(1), { env, cwd: work, stdio: ['ignore', output, output] });
  const pidFile = join(work, 'freeswitch.pid');
  const pid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || undefined : undefined);
  return {
    async kill() {
      const known = pid() ?? child.pid;
      if (known !== undefined) await killHard(known);
      if (child.exitCode === null && child.signalCode === null && child.pid !== known) child.kill('SIGKILL');
    },
  };
}
