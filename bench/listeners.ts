/**
 * The listener ladder of npm run bench:sip (BENCH_LISTENERS, e.g. "100,300"): N listeners of one
 * room call at BENCH_LISTENER_RATE [10] calls/s and stay, once with the room's listeners
 * "shared" (one Jigasi leg, a FreeSWITCH conference) and once "separate" (a leg each). Jigasi
 * (sipp) plays a tone into every leg it answers, and every listener keeps sending RTP after its
 * PIN as a telephone does; once all N are in, the CPU of FreeSWITCH and of sipp is measured over
 * BENCH_LISTENER_HOLD_SECONDS [20] and the RTP FreeSWITCH sends the listeners is captured
 * (tcpdump on lo): how many legs carry the room's sound, and at how many packets a second. Then
 * Jigasi hangs up, which ends every listener. Prints figures; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dtmfPcapDurationMs, writeAudioPcap, writeDtmfPcap } from '../tools/testbed/rtp-pcap';
import { callerScenario, jigasiScenario } from '../tools/testbed/scenarios';
import { JIGASI_PORTS, MUC, SIP_ADDRESS, api, callOutcomes, freeswitchChannelCount, runSipp, sleep, type Gateway, type SippRun } from '../tools/testbed/stack';
import { gatewayCalls, localFreeswitchPid, processFigures } from './figures';

const RATE = Number(process.env.BENCH_LISTENER_RATE ?? 10);
const HOLD_SECONDS = Number(process.env.BENCH_LISTENER_HOLD_SECONDS ?? 20);
/** Which modes each count runs, e.g. "shared" to try a change to shared listening alone. */
const MODES = (process.env.BENCH_LISTENER_MODES ?? 'shared,separate').split(',').map((mode) => {
  if (mode !== 'shared' && mode !== 'separate') throw new Error(`BENCH_LISTENER_MODES: "${mode}" is neither shared nor separate`);
  return mode;
});
const CALLER_NUMBER = '+494136550000';
const CALLER_MEDIA_PORT = 40000;
/** PCMA's silence (A-law of 0 and its sign twin): what a listener hears while the room is quiet. */
const SILENT = new Set([0xd5, 0x55]);

type Mode = 'shared' | 'separate';

/** CPU the sipp processes used so far; undefined once one has exited (its CPU is gone from /proc). */
function sippCpuSeconds(runs: SippRun[]): number | undefined {
  try {
    return runs.reduce((sum, run) => sum + processFigures(run.pid!).cpuSeconds, 0);
  } catch {
    return undefined;
  }
}

interface LegsHeard {
  legs: number;
  withSound: number;
  /** RTP packets a second FreeSWITCH sent a leg (50 at 20 ms): the median leg and the 10th percentile. */
  packetsPerSecond: { median: number; p10: number };
}

/** RTP FreeSWITCH sent the listeners' sipp for `seconds`: per FreeSWITCH port, whether any packet carried sound, and at what rate. */
async function listenerLegsHeard(work: string, seconds: number): Promise<LegsHeard | string> {
  const file = join(work, `listeners-${Date.now()}.pcap`);
  const filter = `udp and src portrange 20000-21999 and dst portrange ${CALLER_MEDIA_PORT}-${CALLER_MEDIA_PORT + 9999}`;
  const capture = spawn('tcpdump', ['-i', 'lo', '-w', file, '-s', '256', filter], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => capture.on('exit', resolve).on('error', () => resolve(-1)));
  await sleep(seconds * 1000);
  capture.kill('SIGINT');
  if ((await exited) === -1) return 'tcpdump not available';
  const data = readFileSync(file);
  const legs = new Map<number, { sound: boolean; packets: number; firstUs: number; lastUs: number }>();
  for (let offset = 24; offset + 16 <= data.length; ) {
    const timeUs = data.readUInt32LE(offset) * 1e6 + data.readUInt32LE(offset + 4);
    const captured = data.readUInt32LE(offset + 8);
    const packet = data.subarray(offset + 16, offset + 16 + captured);
    offset += 16 + captured;
    // Ethernet (lo), IPv4, UDP, RTP.
    const ip = 14;
    const udp = ip + (packet[ip]! & 0x0f) * 4;
    const sourcePort = packet.readUInt16BE(udp);
    const payload = packet.subarray(udp + 8 + 12);
    const sound = payload.some((byte) => !SILENT.has(byte));
    const leg = legs.get(sourcePort) ?? { sound: false, packets: 0, firstUs: timeUs, lastUs: timeUs };
    legs.set(sourcePort, { sound: leg.sound || sound, packets: leg.packets + 1, firstUs: leg.firstUs, lastUs: timeUs });
  }
  // A leg that began or ended during the capture is measured over its own span.
  const rates = [...legs.values()]
    .filter((leg) => leg.lastUs - leg.firstUs >= 1e6)
    .map((leg) => ((leg.packets - 1) * 1e6) / (leg.lastUs - leg.firstUs))
    .sort((a, b) => a - b);
  const at = (fraction: number) => rates[Math.floor(fraction * (rates.length - 1))] ?? 0;
  return {
    legs: legs.size,
    withSound: [...legs.values()].filter((leg) => leg.sound).length,
    packetsPerSecond: { median: at(0.5), p10: at(0.1) },
  };
}

async function listenerRun(gateway: Gateway, work: string, sipps: SippRun[], listeners: number, mode: Mode): Promise<string> {
  const room = `hoerer-${mode}-${listeners}`;
  await api(gateway, 'PUT', `/api/v1/rooms/${room}`, { listeners: mode });
  const pin = ((await (await api(gateway, 'POST', `/api/v1/rooms/${room}/pins`, { role: 'listener' })).json()) as { pin: string }).pin;
  const pinPcap = join(work, `pin-${room}.pcap`);
  writeDtmfPcap(pinPcap, `${pin}#`);
  const injectSeconds = listeners / RATE;
  const holdMs = (injectSeconds + HOLD_SECONDS + 20) * 1000;
  const tone = join(work, `room-${room}.pcap`);
  writeAudioPcap(tone, holdMs);
  // A telephone keeps sending RTP after the PIN, 50 packets a second, though nobody hears it.
  const keysMs = dtmfPcapDurationMs(`${pin}#`);
  const callerAudio = join(work, `caller-${room}.pcap`);
  writeAudioPcap(callerAudio, holdMs, keysMs);
  const gatewayPid = gateway.process.pid!;
  const freeswitchPid = localFreeswitchPid();
  const startedAt = Date.now();
  const gatewayBefore = processFigures(gatewayPid);

  const jigasi = runSipp(
    work,
    `jigasi-${room}`,
    jigasiScenario({ kind: 'answer', room: `${room}@${MUC}`, displayName: mode === 'shared' ? 'Telefon-Zuhörer' : `Telefon ...${CALLER_NUMBER.slice(-2)}`, holdMs, answerAfterMs: 200, info: 'expect-mute-request', audioPcap: tone }, SIP_ADDRESS),
    ['-i', '127.0.0.1', '-p', String(JIGASI_PORTS[0]), '-mp', '30000', '-m', String(mode === 'shared' ? 1 : listeners)],
  );
  sipps.push(jigasi);
  await sleep(300);
  const caller = runSipp(work, `listeners-${room}`, callerScenario({ callerNumber: CALLER_NUMBER, steps: [{ pause: 500 }, { pcap: pinPcap }, { pause: keysMs }, { pcap: callerAudio }], expect: 'bye' }), [
    SIP_ADDRESS, '-i', '127.0.0.1', '-p', '5071', '-mp', String(CALLER_MEDIA_PORT), '-r', String(RATE), '-m', String(listeners), '-l', String(listeners),
    '-timeout', String(Math.ceil(holdMs / 1000) + 60),
  ]);
  sipps.push(caller);

  let held = 0;
  let peakHeld = 0;
  let peakGatewayRssKb = gatewayBefore.rssKb;
  let calling = true;
  const stopSampling = () => (calling = false);
  caller.exit.then(stopSampling, stopSampling);
  /** Listeners in the room now: every bridged call but the shared leg itself. */
  const sample = async () => {
    held = (await gatewayCalls(gateway)).filter((call) => call.listeners === undefined && call.state === 'bridged').length;
    peakHeld = Math.max(peakHeld, held);
    peakGatewayRssKb = Math.max(peakGatewayRssKb, processFigures(gatewayPid).rssKb);
  };
  const joinDeadline = performance.now() + (injectSeconds + 30) * 1000;
  while (held < listeners && performance.now() < joinDeadline) {
    await sleep(1000);
    await sample();
  }
  const heldInWindow = held;
  const freeswitchBefore = freeswitchPid === undefined ? undefined : processFigures(freeswitchPid);
  const loadGeneratorsBefore = sippCpuSeconds([caller, jigasi]);
  const windowStarted = performance.now();
  const heard = await listenerLegsHeard(work, 3);
  await sleep(Math.max(0, HOLD_SECONDS * 1000 - (performance.now() - windowStarted)));
  const windowSeconds = (performance.now() - windowStarted) / 1000;
  const freeswitchAfter = freeswitchPid === undefined ? undefined : processFigures(freeswitchPid);
  const loadGeneratorsAfter = sippCpuSeconds([caller, jigasi]);
  const loadGeneratorsCores =
    loadGeneratorsBefore === undefined || loadGeneratorsAfter === undefined ? 'n/a (one exited)' : `${((loadGeneratorsAfter - loadGeneratorsBefore) / windowSeconds).toFixed(2)} cores`;
  peakGatewayRssKb = Math.max(peakGatewayRssKb, processFigures(gatewayPid).rssKb);

  const endDeadline = performance.now() + holdMs + 90_000;
  while (calling && performance.now() < endDeadline) {
    await sample();
    await sleep(1000);
  }
  caller.kill();
  jigasi.kill();
  let channels = -1;
  for (let attempt = 0; attempt < 60 && channels !== 0; attempt++) {
    await sleep(500);
    channels = await freeswitchChannelCount();
  }
  const gatewayAfter = processFigures(gatewayPid);
  const outcomes = (await callOutcomes(gateway, startedAt)).filter((outcome) => outcome !== null);
  const completed = outcomes.filter((outcome) => outcome === 'completed').length;
  const freeswitchCpuSeconds = freeswitchBefore && freeswitchAfter ? freeswitchAfter.cpuSeconds - freeswitchBefore.cpuSeconds : undefined;
  const freeswitchCpuMsPerListenerSecond =
    freeswitchCpuSeconds !== undefined && heldInWindow > 0 ? (freeswitchCpuSeconds * 1000) / (heldInWindow * windowSeconds) : undefined;
  const soundText =
    typeof heard === 'string'
      ? heard
      : `${heard.withSound} of ${heard.legs} listener legs carried the room's sound, ${heard.packetsPerSecond.median.toFixed(1)} RTP packets/s per leg (10th percentile ${heard.packetsPerSecond.p10.toFixed(1)})`;
  return (
    `${String(listeners).padStart(4)} listeners, ${mode.padEnd(8)}: at most ${peakHeld} in the room at once, ${completed}/${listeners} completed (${listeners - completed} failed), ${channels} channels left; ` +
    `${soundText}; FreeSWITCH ${freeswitchCpuMsPerListenerSecond === undefined ? 'n/a' : `${freeswitchCpuMsPerListenerSecond.toFixed(2)} ms CPU per listener-second`}` +
    `${freeswitchCpuSeconds !== undefined ? `, ${(freeswitchCpuSeconds / windowSeconds).toFixed(2)} cores` : ''}` +
    `${freeswitchAfter ? `, RSS ${(freeswitchAfter.rssKb / 1024).toFixed(0)} MB` : ''}; sipp ${loadGeneratorsCores}; ` +
    `Node ${(((gatewayAfter.cpuSeconds - gatewayBefore.cpuSeconds) * 1000) / listeners).toFixed(1)} ms CPU per call, RSS ${(peakGatewayRssKb / 1024).toFixed(0)} MB peak\n`
  );
}

/** Each count of listeners, shared then separate (BENCH_LISTENER_MODES), one line each. */
export async function listenerLadder(gateway: Gateway, work: string, sipps: SippRun[], counts: number[]): Promise<void> {
  process.stdout.write(`listener ladder: ${RATE} calls/s, held ${HOLD_SECONDS} s once all are in\n`);
  for (const listeners of counts) {
    for (const mode of MODES) {
      process.stdout.write(await listenerRun(gateway, work, sipps, listeners, mode));
      await sleep(3000);
    }
  }
}
