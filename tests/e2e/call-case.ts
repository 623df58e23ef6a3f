/**
 * One end-to-end call case: sipp as the trunk caller and as Jigasi, what happens meanwhile,
 * and what must hold afterwards (sipp's exit codes, no call or FreeSWITCH channel left, the
 * outcome in the call records).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { dtmfPcapDurationMs, writeDtmfPcap } from '../../tools/testbed/rtp-pcap';
import { callerScenario, jigasiScenario, type CallerPlan, type JigasiBehaviour, type MediaStep } from '../../tools/testbed/scenarios';
import { JIGASI_PORTS, MUC, SIP_ADDRESS, callOutcomes, freeswitchChannelCount, liveCalls, runSipp, sleep, type Gateway } from '../../tools/testbed/stack';

export interface Case {
  name: string;
  prepare?: (gateway: Gateway) => Promise<{ pin?: string }>;
  jigasi: Array<JigasiBehaviour | undefined>;
  caller: (setup: { pin?: string; work: string }) => CallerPlan;
  /** Bound to 127.0.0.2 instead of 127.0.0.1 (an untrusted source). */
  callerAddress?: string;
  during?: (gateway: Gateway, work: string) => Promise<void>;
  outcome?: string;
  /** For several calls that end differently: their outcomes in any order. */
  outcomes?: string[];
  /** Calls placed at once by the caller (and taken by the first Jigasi); each must end with `outcome`. */
  calls?: number;
  /** Calls the first Jigasi takes, when not one per caller's call (listeners sharing one leg). */
  jigasiCalls?: number;
  /** How long the caller's scenario may run before it counts as hanging [90 s]. */
  lastsMs?: number;
}

let numberCounter = 100;
export const nextCaller = () => `+49413655${String(numberCounter++).padStart(4, '0')}`;

/**
 * Entries typed as RFC 4733 events; each waits until the previous one has played, plus
 * `gapMs` for the gateway to check it (or, for in-call keys, for the bridge to come up): one gap
 * for all, or one per entry after the first.
 */
export function pcapSteps(work: string, entries: string[], gapMs: number | number[] = 1500, firstPauseMs = 1000): MediaStep[] {
  let previousMs = 0;
  let clockMs = 0;
  return entries.flatMap((keys, index) => {
    const path = join(work, `keys-${randomBytes(4).toString('hex')}.pcap`);
    const gap = Array.isArray(gapMs) ? gapMs[index - 1]! : gapMs;
    const pause = previousMs === 0 ? firstPauseMs : previousMs + gap;
    clockMs += pause;
    writeDtmfPcap(path, keys, clockMs);
    previousMs = dtmfPcapDurationMs(keys);
    return [{ pause }, { pcap: path }];
  });
}

export const jigasiAnswers = (displayName: string, holdMs?: number): Extract<JigasiBehaviour, { kind: 'answer' }> => ({
  kind: 'answer',
  room: `gemeinderat@${MUC}`,
  password: '2468',
  displayName,
  holdMs,
});

export const maskedName = (number: string) => `Telefon ...${number.slice(-2)}`;

/** Undefined once the gateway lists no call and FreeSWITCH has no channel (within 10 s), else what was left. */
export async function settled(gateway: Gateway): Promise<string | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const stopped = gateway.process.exitCode !== null;
    const items = stopped ? [] : await liveCalls(gateway);
    const channels = await freeswitchChannelCount();
    if (items.length === 0 && channels === 0) return undefined;
    if (attempt === 49) return `left behind: ${items.length} calls in the API, ${channels} FreeSWITCH channels`;
    await sleep(200);
  }
  return 'unreachable';
}

/** Where the caller's sipp writes its scenario's log lines. */
export const callerLogFile = (work: string) => join(work, 'caller-log.log');

export async function runCase(gateway: Gateway, caseWork: string, testCase: Case): Promise<string | undefined> {
  const work = caseWork;
  const startedAt = Date.now();
  const before = (await callOutcomes(gateway))[0];
  const calls = String(testCase.calls ?? 1);
  const setup = testCase.prepare ? await testCase.prepare(gateway) : {};
  const jigasis = testCase.jigasi.map((behaviour, index) =>
    behaviour ? runSipp(work, `jigasi-${index}`, jigasiScenario(behaviour, SIP_ADDRESS), ['-m', String(('calls' in behaviour ? behaviour.calls : undefined) ?? testCase.jigasiCalls ?? calls), '-i', '127.0.0.1', '-p', String(JIGASI_PORTS[index]), '-mp', String(16000 + index * 100)]) : undefined,
  );
  await sleep(300);
  const plan = testCase.caller({ ...setup, work });
  const caller = runSipp(work, 'caller', callerScenario(plan), [
    SIP_ADDRESS, '-m', calls, '-l', calls, '-i', testCase.callerAddress ?? '127.0.0.1', '-p', '5071', '-mp', '17000',
    // the scenario's <log> lines, marks with the time an answer arrived among them (scenarios.ts)
    '-trace_logs', '-log_file', callerLogFile(work),
  ]);
  const problems: string[] = [];
  const during = testCase.during?.(gateway, work).catch((error: unknown) => problems.push((error as Error).message));
  const callerExit = await Promise.race([caller.exit, sleep(testCase.lastsMs ?? 90_000).then(() => -1)]);
  await during;
  const jigasiExits = await Promise.all(jigasis.map(async (run) => (run ? Promise.race([run.exit, sleep(10_000).then(() => -1)]) : 0)));
  caller.kill();
  jigasis.forEach((run) => run?.kill());
  if (callerExit !== 0) problems.push(`caller sipp exited ${callerExit} (see ${work}/caller-errors.log)`);
  jigasiExits.forEach((code, index) => {
    if (code !== 0) problems.push(`jigasi ${index} sipp exited ${code} (see ${work}/jigasi-${index}-errors.log)`);
  });
  const leftovers = await settled(gateway);
  if (leftovers) problems.push(leftovers);
  if (testCase.outcome !== undefined || testCase.outcomes !== undefined) {
    const outcomes = (await callOutcomes(gateway, startedAt)).sort();
    const expected = testCase.outcomes ? [...testCase.outcomes].sort() : Array.from({ length: testCase.calls ?? 1 }, () => testCase.outcome);
    if (outcomes.join() !== expected.join()) problems.push(`call record outcomes ${outcomes.join(', ')}, expected ${expected.join(', ')}`);
  } else if ((await callOutcomes(gateway))[0] !== before) {
    problems.push('a call record was written for a refused INVITE');
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}
