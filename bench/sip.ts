/**
 * npm run bench:sip — calls through the whole flow (answer, prompts, PIN by RFC 2833, Jigasi
 * bridge, 20 s of audio, hang-up) at rising call rates, against the drachtio-server and
 * FreeSWITCH of the end-to-end suite. Prints figures; asserts nothing.
 * BENCH_RATES [2,5,10] calls/s, BENCH_INJECT_SECONDS [20] per rate, BENCH_AUDIO_SECONDS [21]
 * of audio per call (longer calls hold more of them bridged at once), BENCH_LOG_LEVEL [warn]
 * of the gateway, whose log is kept with sipp's in the work directory. With BENCH_LISTENERS
 * (e.g. "100,300") it runs the listener ladder instead (bench/listeners.ts).
 */
import '../tools/testbed/dotenv';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtmfPcapDurationMs, writeAudioPcap, writeDtmfPcap } from '../tools/testbed/rtp-pcap';
import { callerScenario, jigasiScenario } from '../tools/testbed/scenarios';
import { JIGASI_PORTS, MUC, SIP_ADDRESS, api, callOutcomes, freeswitchChannelCount, preflight, runSipp, sleep, startGateway, type Gateway, type SippRun } from '../tools/testbed/stack';
import { gatewayCalls, localFreeswitchPid, processFigures } from './figures';
import { listenerLadder } from './listeners';

const RATES = (process.env.BENCH_RATES ?? '2,5,10').split(',').map(Number);
const INJECT_SECONDS = Number(process.env.BENCH_INJECT_SECONDS ?? 20);
const AUDIO_SECONDS = Number(process.env.BENCH_AUDIO_SECONDS ?? 21);
const LISTENER_COUNTS = (process.env.BENCH_LISTENERS ?? '').split(',').filter(Boolean).map(Number);
const IDLE_SECONDS = 10;
const SETTLE_ATTEMPTS = 80;
const STARTUP_SETTLE_MS = 15_000;

/** Busy share of all cores since the last call: what says whether the machine itself is the limit. */
function machineBusy(): () => number {
  const sample = () => {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3]! + fields[4]!;
    return { idle, total: fields.reduce((sum, value) => sum + value, 0) };
  };
  const start = sample();
  return () => {
    const end = sample();
    return 1 - (end.idle - start.idle) / Math.max(1, end.total - start.total);
  };
}

/** Cumulative bucket counts of the #→INVITE histogram, by upper bound in seconds. */
async function inviteLatencyBuckets(gateway: Gateway): Promise<Map<number, number>> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const match of text.matchAll(/dialin_pin_to_jigasi_invite_seconds_bucket\{le="([^"]+)"\} (\d+)/g)) {
    buckets.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  }
  return buckets;
}

/** A quantile from the difference of two cumulative histograms, interpolated inside its bucket. */
function quantileMs(before: Map<number, number>, after: Map<number, number>, q: number): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((bound) => after.get(bound)! - (before.get(bound) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return 'n/a';
  const target = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= target) {
      if (bounds[i] === Infinity) return `>${bounds[i - 1]! * 1000}`;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const below = i === 0 ? 0 : counts[i - 1]!;
      const share = (target - below) / Math.max(1, counts[i]! - below);
      return ((lower + share * (bounds[i]! - lower)) * 1000).toFixed(1);
    }
  }
  return 'n/a';
}

/** Calls not completed, by the outcome of their call record ("no record" for INVITEs that never became a call). */
function shortfall(outcomes: Array<string | null>, placed: number): string {
  const unrecorded = Array<string>(Math.max(0, placed - outcomes.length)).fill('no record');
  return tally([...outcomes.filter((outcome) => outcome !== 'completed').map((outcome) => outcome ?? 'unfinished'), ...unrecorded]);
}

/** How often each label occurs, in the order first seen. */
function countLabels(labels: string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts];
}

/** "3 answering, 2 collecting". */
function tally(labels: string[]): string {
  return countLabels(labels).map(([label, count]) => `${count} ${label}`).join(', ');
}

async function bridgedCalls(gateway: Gateway): Promise<number> {
  return (await gatewayCalls(gateway)).filter((call) => call.state === 'bridged').length;
}

async function main(): Promise<void> {
  const problems = await preflight();
  if (problems.length > 0) {
    process.stdout.write(`bench:sip skipped: ${problems.join('; ')}\n`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'dialin-bench-sip-'));
  const gateway = await startGateway(work, { MAX_CALLS: '2000', PIN_FAILURES_PER_HOUR: '1000', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', JIGASI_URIS: `sip:jigasi@127.0.0.1:${JIGASI_PORTS[0]}` });
  const pid = gateway.process.pid!;
  // Killed however the bench ends: a sipp left behind holds its ports and breaks the next run.
  const sipps: SippRun[] = [];
  process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model}; node ${process.version}; ${INJECT_SECONDS} s of calls per rate, ${AUDIO_SECONDS} s of audio each\n`);
  try {
    if (LISTENER_COUNTS.length > 0) {
      await sleep(STARTUP_SETTLE_MS);
      await listenerLadder(gateway, work, sipps, LISTENER_COUNTS);
      return;
    }
    const pin = ((await (await api(gateway, 'POST', '/api/v1/rooms/bench/pins', { label: 'Bench' })).json()) as { pin: string }).pin;
    const pinPcap = join(work, 'pin.pcap');
    writeDtmfPcap(pinPcap, `${pin}#`);
    const audioStartMs = dtmfPcapDurationMs(`${pin}#`) + 1500;
    const audioPcap = join(work, 'audio.pcap');
    writeAudioPcap(audioPcap, AUDIO_SECONDS * 1000, audioStartMs);
    const jigasi = runSipp(work, 'jigasi', jigasiScenario({ kind: 'answer', room: `bench@${MUC}`, displayName: 'Bench', answerAfterMs: 200 }, SIP_ADDRESS), [
      '-i', '127.0.0.1', '-p', String(JIGASI_PORTS[0]), '-mp', '30000',
    ]);
    sipps.push(jigasi);
    // What the gateway spends without calls (its own timers and this script's polling of the
    // calls API), measured once start-up work has settled; subtracted for the net CPU figure.
    await sleep(STARTUP_SETTLE_MS);
    const idle = processFigures(pid);
    const idleStarted = performance.now();
    for (let second = 0; second < IDLE_SECONDS; second++) {
      await bridgedCalls(gateway);
      await sleep(1000);
    }
    const idleCpuPerSecond = (processFigures(pid).cpuSeconds - idle.cpuSeconds) / ((performance.now() - idleStarted) / 1000);
    process.stdout.write(`gateway without calls, polled once a second: ${(idleCpuPerSecond * 1000).toFixed(1)} ms CPU per second\n`);
    let best = 0;
    const failures: number[] = [];
    for (const rate of RATES) {
      const calls = rate * INJECT_SECONDS;
      const steps = [
        { pause: 500 },
        { pcap: pinPcap },
        { pause: audioStartMs },
        { pcap: audioPcap },
        { pause: AUDIO_SECONDS * 1000 },
        { bye: true as const },
      ];
      const latencyBefore = await inviteLatencyBuckets(gateway);
      const before = processFigures(pid);
      const started = performance.now();
      const rateStartedAt = Date.now();
      const freeswitchPid = localFreeswitchPid();
      const freeswitchBefore = freeswitchPid === undefined ? undefined : processFigures(freeswitchPid);
      const busy = machineBusy();
      const caller = runSipp(work, `caller-${rate}`, callerScenario({ callerNumber: '+494136550000', steps, expect: 'none' }), [
        SIP_ADDRESS, '-i', '127.0.0.1', '-p', '5071', '-mp', '40000', '-r', String(rate), '-m', String(calls),
        '-timeout', String(INJECT_SECONDS + 90),
      ]);
      sipps.push(caller);
      let peakBridged = 0;
      let peakRssKb = before.rssKb;
      let running = true;
      const stopSampling = () => (running = false);
      caller.exit.then(stopSampling, stopSampling);
      let peakBusy = 0;
      let second = machineBusy();
      // sipp waits forever for an answer that never comes; the bench must end and say which calls hung.
      const patienceSeconds = INJECT_SECONDS + AUDIO_SECONDS + 60;
      const deadline = performance.now() + patienceSeconds * 1000;
      let hung = '';
      while (running) {
        if (performance.now() > deadline) {
          hung = tally((await gatewayCalls(gateway)).map((call) => call.state)) || 'none';
          caller.kill();
          break;
        }
        peakBridged = Math.max(peakBridged, await bridgedCalls(gateway));
        peakRssKb = Math.max(peakRssKb, processFigures(pid).rssKb);
        await sleep(1000);
        peakBusy = Math.max(peakBusy, second());
        second = machineBusy();
      }
      const after = processFigures(pid);
      const elapsedSeconds = (performance.now() - started) / 1000;
      const machineBusyShare = busy();
      const freeswitchSeconds = freeswitchBefore && processFigures(freeswitchPid!).cpuSeconds - freeswitchBefore.cpuSeconds;
      // A call whose far end stopped answering ends when SIP gives up on its BYE (timer F, 32 s).
      let leftover = -1;
      let openCalls = -1;
      for (let attempt = 0; attempt < SETTLE_ATTEMPTS && (leftover !== 0 || openCalls !== 0); attempt++) {
        await sleep(500);
        leftover = await freeswitchChannelCount();
        openCalls = (await gatewayCalls(gateway)).length;
      }
      const outcomes = await callOutcomes(gateway, rateStartedAt);
      const completed = outcomes.filter((outcome) => outcome === 'completed').length;
      const missing = shortfall(outcomes, calls);
      const latencyAfter = await inviteLatencyBuckets(gateway);
      const cpuMsPerCall = ((after.cpuSeconds - before.cpuSeconds) * 1000) / calls;
      const netCpuMsPerCall = ((after.cpuSeconds - before.cpuSeconds - idleCpuPerSecond * elapsedSeconds) * 1000) / calls;
      const rssPerCallKb = peakBridged > 0 ? (peakRssKb - idle.rssKb) / peakBridged : 0;
      if (completed === calls && leftover === 0 && openCalls === 0) best = Math.max(best, rate);
      else failures.push(rate);
      process.stdout.write(
        `${String(rate).padStart(3)} calls/s: ${completed}/${calls} completed${missing ? ` (${missing})` : ''}, ${leftover} channels and ${openCalls} calls left; ` +
          `${hung ? `sipp killed after waiting ${patienceSeconds} s, gateway calls then: ${hung}; ` : ''}` +
          `peak ${peakBridged} bridged; #→INVITE p50 ${quantileMs(latencyBefore, latencyAfter, 0.5)} ms p99 ${quantileMs(latencyBefore, latencyAfter, 0.99)} ms; ` +
          `Node CPU ${cpuMsPerCall.toFixed(1)} ms/call (${netCpuMsPerCall.toFixed(1)} net of idle); RSS ${(peakRssKb / 1024).toFixed(0)} MB peak, ${rssPerCallKb.toFixed(0)} KB per bridged call; ` +
          `machine ${(machineBusyShare * 100).toFixed(0)} % busy (peak second ${(peakBusy * 100).toFixed(0)} %)` +
          `${freeswitchSeconds === undefined ? '' : `, FreeSWITCH CPU ${freeswitchSeconds.toFixed(0)} s (${((freeswitchSeconds * 1000) / calls).toFixed(0)} ms/call)`}\n`,
      );
      await sleep(2000);
    }
    process.stdout.write(`highest rate with every call completed (bridged to Jigasi, ended by the caller) and no leaked channel: ${best} calls/s\n`);
    if (failures.length > 0) {
      const reasons = countLabels(
        gateway.log
          .join('')
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => {
            const message = /"msg":"([^"]+)"/.exec(line)?.[1];
            const error = /"err":\{"type":"[^"]*","message":"([^"]{0,80})/.exec(line)?.[1] ?? /"err":"([^"]{0,80})/.exec(line)?.[1];
            // Lines that are not our JSON log come from the libraries (fsmrf's console.error), per channel.
            return message ? `${message}${error ? `: ${error}` : ''}` : line.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<uuid>').slice(0, 100);
          }),
      );
      process.stdout.write(`gateway warnings and errors during the runs:\n${reasons.map(([reason, count]) => `  ${count} × ${reason}`).join('\n')}\nsipp and gateway logs kept in ${work}\n`);
    }
  } finally {
    for (const sipp of sipps) sipp.kill();
    gateway.process.kill('SIGTERM');
    writeFileSync(join(work, 'gateway.log'), gateway.log.join(''));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:sip failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
