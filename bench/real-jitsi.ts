/**
 * npm run bench:jitsi — figures against the real Jitsi of the end-to-end test bed (README,
 * end-to-end tests: Prosody, Jicofo, the videobridge and Jigasi beside drachtio-server and
 * FreeSWITCH). Prints figures; asserts nothing.
 * 1. Time from the caller's "#" (the gateway's "PIN accepted") to "in the room" (an XMPP observer
 *    sees the participant), p50/p95 over BENCH_JITSI_CALLS [20] calls, one after the other.
 * 2. The codec on each leg, for a G.711 and a G.722 caller (FreeSWITCH's channels).
 * 3. CPU of FreeSWITCH, Jigasi and the videobridge per call: BENCH_JITSI_CONCURRENT [10] G.711
 *    callers sending a tone, with a browser participant in the room when E2E_LIB_JITSI_MEET is set.
 * 4. Jigasi's and the videobridge's CPU for BENCH_JITSI_LISTENERS [30] listeners, separate and shared.
 */
import '../tools/testbed/dotenv';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomObserver } from '../tools/testbed/jitsi/observer';
import { openJitsiBrowser, type JitsiBrowser, type Participant } from '../tools/testbed/jitsi/participant';
import { RtpPeer } from '../tools/testbed/rtp-peer';
import { writeAudioPcap } from '../tools/testbed/rtp-pcap';
import { callerScenario, type SdpShape } from '../tools/testbed/scenarios';
import { SIP_ADDRESS, api, conferencesReached, createPin, freeswitchApi, preflight, runSipp, sleep, startGateway, stopGateway, type Gateway } from '../tools/testbed/stack';
import { localFreeswitchPid, processFigures, processWhere } from './figures';

const env = process.env;
const CALLS = Number(env.BENCH_JITSI_CALLS ?? 20);
const CONCURRENT = Number(env.BENCH_JITSI_CONCURRENT ?? 10);
const LISTENERS = Number(env.BENCH_JITSI_LISTENERS ?? 30);
const WINDOW_SECONDS = 20;
const DOMAIN = env.E2E_JITSI_DOMAIN ?? 'meet.jitsi';
const MUC = `muc.${DOMAIN}`;
const XMPP_WEBSOCKET = `ws://${env.E2E_JITSI_HTTP ?? '127.0.0.1:5280'}/xmpp-websocket`;
const JIGASI = env.E2E_JIGASI_SIP ?? '127.0.0.1:5070';
/** Jigasi's RTP ports (the compose file's JIGASI_PORT_MIN/MAX): a FreeSWITCH channel sending there is a Jigasi leg. */
const JIGASI_PORTS = { min: Number(env.JIGASI_PORT_MIN ?? 23000), max: Number(env.JIGASI_PORT_MAX ?? 23199) };

/** The JVM of a Jitsi component on this host, by its main class. */
const javaPid = (mainClass: string) => processWhere('cmdline', (commandLine) => commandLine.includes(mainClass));

const percentile = (values: number[], share: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(share * values.length))]!;

let callerCounter = 0;
const nextCaller = () => `+49413656${String(callerCounter++).padStart(4, '0')}`;

/**
 * Callers typing their PIN by SIP INFO and staying `holdMs`. One caller's media is an RTP peer
 * sending a tone (or G.722 noise); several callers each play a tone from sipp's own media port.
 */
function placeCall(work: string, name: string, pin: string, media: RtpPeer | { tonePcap: string }, holdMs: number, codecs?: SdpShape['codecs'], calls = 1, port = 5071) {
  const keys = [{ pause: 800 }, ...[...`${pin}#`].map((key) => ({ info: key }))];
  const plan =
    media instanceof RtpPeer
      ? { offer: { port: media.ports[0]!, version: 1, codecs }, steps: [...keys, { pause: holdMs }] }
      : // sipp plays a pcap in the background: the pause holds the call while it plays
        { steps: [...keys, { pcap: media.tonePcap }, { pause: holdMs }] };
  return runSipp(work, name, callerScenario({ callerNumber: nextCaller(), ...plan, steps: [...plan.steps, { bye: true }], expect: 'none' }), [
    SIP_ADDRESS, '-m', String(calls), '-l', String(calls), '-r', '2', '-i', '127.0.0.1', '-p', String(port), '-mp', '17000',
  ]);
}

/** The time of each "PIN accepted" in the gateway's log (epoch ms), in order. */
function pinsAccepted(gateway: Gateway): number[] {
  return gateway.log
    .join('')
    .split('\n')
    .filter((line) => line.includes('"msg":"PIN accepted"'))
    .map((line) => Date.parse((JSON.parse(line) as { time: string }).time));
}

async function latency(gateway: Gateway, work: string): Promise<string> {
  const room = 'bench-latency';
  const pin = await createPin(gateway, { label: 'Messung' }, room);
  const observer = await RoomObserver.join({ service: XMPP_WEBSOCKET, domain: DOMAIN, muc: MUC, room });
  const media = await RtpPeer.open([]);
  media.send({ payloadType: 8, toneHz: 400 });
  const seconds: number[] = [];
  try {
    for (let index = 0; index < CALLS; index++) {
      const before = pinsAccepted(gateway).length;
      const call = placeCall(work, `latency-${index}`, pin, media, 6000);
      const [joined] = await Promise.all([
        observer.waitFor((occupants) => occupants.some((occupant) => occupant.name === 'Messung'), 20_000, 'the phone participant').then(() => Date.now()),
        (async () => {
          while (pinsAccepted(gateway).length === before) await sleep(20);
        })(),
      ]);
      seconds.push((joined - pinsAccepted(gateway)[before]!) / 1000);
      await call.exit;
      await observer.waitFor((occupants) => !occupants.some((occupant) => occupant.name === 'Messung'), 20_000, 'the phone participant to leave');
    }
  } finally {
    media.close();
    await observer.leave();
  }
  return `"#" to in the room (observer sees the participant), ${CALLS} calls: p50 ${percentile(seconds, 0.5).toFixed(2)} s, p95 ${percentile(seconds, 0.95).toFixed(2)} s, max ${Math.max(...seconds).toFixed(2)} s`;
}

/** FreeSWITCH's channels: which codec each reads and writes, and where its media goes. */
async function channelCodecs(): Promise<string[]> {
  const lines = (await freeswitchApi('show channels as json')).trim();
  const rows = (JSON.parse(lines) as { rows?: Array<{ uuid: string; read_codec: string; read_rate: string; write_codec: string; write_rate: string }> }).rows ?? [];
  return Promise.all(
    rows.map(async (row) => {
      const port = (await freeswitchApi(`uuid_getvar ${row.uuid} remote_media_port`)).trim();
      const leg = Number(port) >= JIGASI_PORTS.min && Number(port) <= JIGASI_PORTS.max ? 'Jigasi leg' : 'caller leg';
      return `${leg}: ${row.read_codec}/${row.read_rate} in, ${row.write_codec}/${row.write_rate} out`;
    }),
  );
}

/** Waits until the gateway's log says `count` calls reached the conference. */
async function inConference(gateway: Gateway, count: number, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (conferencesReached(gateway) < count) {
    if (Date.now() > deadline) throw new Error(`only ${conferencesReached(gateway)} of ${count} calls reached the conference`);
    await sleep(100);
  }
}

async function codecs(gateway: Gateway, work: string): Promise<string> {
  const report: string[] = [];
  for (const [label, offer] of [['G.711 caller (PCMA, PCMU offered)', undefined], ['G.722 caller (only G722 offered)', ['G722']]] as const) {
    const room = `bench-codec-${label.startsWith('G.711') ? 'g711' : 'g722'}`;
    const pin = await createPin(gateway, {}, room);
    // Jigasi alone in a room answers only after some 15 s (Jicofo waits for a second participant)
    const observer = await RoomObserver.join({ service: XMPP_WEBSOCKET, domain: DOMAIN, muc: MUC, room });
    const media = await RtpPeer.open([]).catch(async (error: unknown) => {
      await observer.leave();
      throw error;
    });
    let call: ReturnType<typeof placeCall> | undefined;
    try {
      media.send(offer ? { payloadType: 9, noise: true } : { payloadType: 8, toneHz: 400 });
      const before = conferencesReached(gateway);
      call = placeCall(work, `codec-${room}`, pin, media, 8000, offer ? [...offer] : undefined);
      await inConference(gateway, before + 1, 20_000);
      await sleep(1000);
      report.push(`${label}: ${(await channelCodecs()).join('; ')}`);
      await call.exit;
    } finally {
      call?.kill();
      media.close();
      await observer.leave();
    }
    await sleep(1500);
  }
  return report.join('\n');
}

interface Cpu {
  freeswitch: number;
  jigasi: number;
  videobridge: number;
}

function cpuNow(pids: { freeswitch?: number; jigasi?: number; videobridge?: number }): Cpu {
  const of = (pid: number | undefined) => (pid === undefined ? Number.NaN : processFigures(pid).cpuSeconds);
  return { freeswitch: of(pids.freeswitch), jigasi: of(pids.jigasi), videobridge: of(pids.videobridge) };
}

/** CPU seconds each process used over WINDOW_SECONDS, per second (cores). */
async function cores(pids: Parameters<typeof cpuNow>[0]): Promise<Cpu> {
  const before = cpuNow(pids);
  await sleep(WINDOW_SECONDS * 1000);
  const after = cpuNow(pids);
  return {
    freeswitch: (after.freeswitch - before.freeswitch) / WINDOW_SECONDS,
    jigasi: (after.jigasi - before.jigasi) / WINDOW_SECONDS,
    videobridge: (after.videobridge - before.videobridge) / WINDOW_SECONDS,
  };
}

const ms = (value: number) => (Number.isNaN(value) ? 'n/a' : `${(value * 1000).toFixed(1)} ms/s`);

async function load(gateway: Gateway, work: string, pids: Parameters<typeof cpuNow>[0], what: string, room: string, pinBody: Record<string, unknown>, calls: number, roomSettings?: Record<string, unknown>): Promise<{ idle: Cpu; busy: Cpu; line: string }> {
  if (roomSettings) await api(gateway, 'PUT', `/api/v1/rooms/${room}`, roomSettings);
  const pin = await createPin(gateway, pinBody, room);
  const idle = await cores(pids);
  const holdMs = (WINDOW_SECONDS + calls / 2 + 20) * 1000;
  const tonePcap = join(work, `tone-${room}.pcap`);
  writeAudioPcap(tonePcap, holdMs);
  const run = placeCall(work, `load-${room}`, pin, { tonePcap }, holdMs, undefined, calls, 5073);
  // every call in (2 a second), then the window
  await sleep((calls / 2 + 12) * 1000);
  const busy = await cores(pids);
  await run.exit;
  const per = (key: keyof Cpu) => ms((busy[key] - idle[key]) / calls);
  const line = `${what}, ${calls} calls: FreeSWITCH ${per('freeswitch')}, Jigasi ${per('jigasi')}, videobridge ${per('videobridge')} of CPU per call (busy ${ms(busy.freeswitch)} / ${ms(busy.jigasi)} / ${ms(busy.videobridge)}, idle before ${ms(idle.freeswitch)} / ${ms(idle.jigasi)} / ${ms(idle.videobridge)})`;
  return { idle, busy, line };
}

async function main(): Promise<void> {
  const problems = await preflight();
  if (problems.length > 0) throw new Error(`the test bed is not there: ${problems.join('; ')}`);
  const pids = { freeswitch: localFreeswitchPid(), jigasi: javaPid('org.jitsi.jigasi.Main'), videobridge: javaPid('org.jitsi.videobridge.MainKt') };
  if (pids.jigasi === undefined || pids.videobridge === undefined) throw new Error('no Jigasi or videobridge process on this host (the real Jitsi of the test bed)');
  const work = mkdtempSync(join(tmpdir(), 'dialin-bench-jitsi-'));
  let gateway: Gateway | undefined;
  let browser: JitsiBrowser | undefined;
  let listener: Participant | undefined;
  try {
    gateway = await startGateway(work, { JIGASI_URIS: `sip:jigasi@${JIGASI}`, JITSI_MUC_DOMAIN: MUC, MAX_CALLS: '200', LOG_LEVEL: 'info' });
    browser = env.E2E_LIB_JITSI_MEET ? await openJitsiBrowser({ serviceUrl: XMPP_WEBSOCKET, domain: DOMAIN, muc: MUC, libJitsiMeet: env.E2E_LIB_JITSI_MEET }) : undefined;
    process.stdout.write(`${await latency(gateway, work)}\n`);
    process.stdout.write(`${await codecs(gateway, work)}\n`);
    listener = browser ? await browser.open({ room: 'bench-load', name: 'Zuhörende im Browser', toneHz: 880 }) : undefined;
    process.stdout.write(`(browser participant in the load rooms: ${browser ? browser.description : 'none, E2E_LIB_JITSI_MEET not set'})\n`);
    process.stdout.write(`${(await load(gateway, work, pids, 'G.711 speakers', 'bench-load', {}, CONCURRENT)).line}\n`);
    await listener?.leave();
    listener = browser ? await browser.open({ room: 'bench-separate', name: 'Zuhörende im Browser', toneHz: 880 }) : undefined;
    const separate = await load(gateway, work, pids, 'listeners, separate', 'bench-separate', { role: 'listener' }, LISTENERS);
    process.stdout.write(`${separate.line}\n`);
    await listener?.leave();
    listener = browser ? await browser.open({ room: 'bench-shared', name: 'Zuhörende im Browser', toneHz: 880 }) : undefined;
    const shared = await load(gateway, work, pids, 'listeners, shared', 'bench-shared', { role: 'listener' }, LISTENERS, { listeners: 'shared' });
    process.stdout.write(`${shared.line}\n`);
    const total = (run: { idle: Cpu; busy: Cpu }, key: keyof Cpu) => run.busy[key] - run.idle[key];
    process.stdout.write(
      `${LISTENERS} listeners, shared against separate: Jigasi ${ms(total(shared, 'jigasi'))} against ${ms(total(separate, 'jigasi'))}, videobridge ${ms(total(shared, 'videobridge'))} against ${ms(total(separate, 'videobridge'))}, FreeSWITCH ${ms(total(shared, 'freeswitch'))} against ${ms(total(separate, 'freeswitch'))}\n`,
    );
  } finally {
    await listener?.leave();
    await browser?.close();
    if (gateway) await stopGateway(gateway);
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:jitsi failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
