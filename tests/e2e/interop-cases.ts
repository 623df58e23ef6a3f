/**
 * The SIP that real providers and PBXs send, on the real drachtio-server and FreeSWITCH: a
 * delayed offer (INVITE without SDP), session refreshes by re-INVITE and UPDATE with
 * Session-Expires, hold and resume, media moved to another port, offers we cannot carry (T.38,
 * unknown codecs: 488), a re-INVITE without SDP, Require: 100rel, a G.722 caller. The caller's and
 * Jigasi's media are RTP peers in this process (tools/testbed/rtp-peer.ts): each sends a tone of
 * its own, and after every step the case measures what arrived where, from the moment sipp logged
 * the answer (scenarios.ts `mark`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { RtpPeer, type Heard } from '../../tools/testbed/rtp-peer';
import { marksIn, type CallerStep, type SdpShape } from '../../tools/testbed/scenarios';
import { api, createPin, sleep, startGateway, stopGateway, type Gateway } from '../../tools/testbed/stack';
import { callerLogFile, jigasiAnswers, maskedName, nextCaller, runCase } from './call-case';
import type { E2eGroup } from './group';

const CALLER_TONE_HZ = 400;
const ROOM_TONE_HZ = 1000;
const PACKET_MS = 20;

/** What must have arrived in a window after a marked answer. */
interface MediaExpectation {
  mark: string;
  fromMs?: number;
  toMs?: number;
  /** Jigasi's tone reaches the caller (at `callerSocket`), or nothing of it does. */
  callerHears?: boolean;
  callerSocket?: number;
  /** The RTP payload type FreeSWITCH sends the caller (9: G.722). */
  callerPayloadType?: number;
  /** The caller's tone (or noise) reaches the room, or nothing of it does. */
  roomHears?: boolean;
  /** Nothing at all arrives at this socket of the caller's in the window (media moved away). */
  silentSocket?: number;
}

interface InteropCase {
  name: string;
  /** The caller's steps once its PIN is typed and it is in the conference (marked `in-conference`). */
  steps: (media: { port: number[] }) => CallerStep[];
  offer?: (port: number[]) => { sdp: SdpShape; delayed?: true };
  headers?: string[];
  answerMust?: string[];
  /** G.722 callers send noise of payload type 9 instead of a PCMA tone. */
  g722?: true;
  /** What the caller's media does meanwhile, driven by the marks as sipp logs them. */
  during?: (peers: Peers, marks: MarkWatch) => Promise<void>;
  expect: MediaExpectation[];
  /** The gateway (drachtio-server's session timer) hangs up: no BYE from the caller. */
  endsWithGatewayBye?: true;
  sockets?: number;
  /** How long the caller's scenario may take (default: runCase's 90 s). */
  lastsMs?: number;
}

interface Peers {
  caller: RtpPeer;
  jigasi: RtpPeer;
}

type MarkWatch = (name: string, withinMs?: number) => Promise<number>;

/**
 * The PIN by SIP INFO, then an UPDATE without a body marks the moment the caller is in the
 * conference. With a session timer it carries Session-Expires: a refresh without it turns the
 * timer off (RFC 4028 §9), which drachtio-server does.
 */
const inConference = (pin: string, sessionHeaders: string[]): CallerStep[] => [
  { pause: 800 },
  ...[...`${pin}#`].map((key) => ({ info: key })),
  // Jigasi answers 3 s after its INVITE; the bridge follows.
  { pause: 5000 },
  { update: { expect: 200, headers: sessionHeaders, mark: 'in-conference' } },
  { pause: 2500 },
];

/** No direction attribute but sendrecv, which is also what none means (RFC 3264 §5.1). */
const SENDS_AND_RECEIVES = '!a=(sendonly|recvonly|inactive)';
const BOTH_WAYS = (mark: string): MediaExpectation => ({ mark, callerHears: true, roomHears: true });
const sessionTimer = ['Supported: timer', 'Session-Expires: 90;refresher=uac', 'Min-SE: 90'];
/** The caller refreshes (RFC 4028): same media, a higher origin version. */
const refresh = (port: number, version: number, how: 'reinvite' | 'update', mark: string): CallerStep => {
  const request = { sdp: { port, version }, headers: sessionTimer, expect: 200, answerMust: ['Session-Expires: *90;refresher=uac', 'Require: *timer'], mark };
  return how === 'reinvite' ? { reinvite: request } : { update: request };
};

function cases(): InteropCase[] {
  return [
    {
      name: 'interop: a delayed offer (INVITE without SDP, the answer in the ACK) is bridged and stays, audio both ways',
      offer: (port) => ({ sdp: { port: port[0]!, version: 1 }, delayed: true }),
      answerMust: ['m=audio [1-9]'],
      steps: () => [{ pause: 3000 }, { update: { expect: 200, mark: 'later' } }, { pause: 2500 }],
      expect: [BOTH_WAYS('in-conference'), BOTH_WAYS('later')],
    },
    {
      name: 'interop: session timer refreshed by re-INVITE and UPDATE (with and without SDP) for 140 s, past Session-Expires 90: the call stays, audio both ways after each',
      headers: sessionTimer,
      answerMust: ['Session-Expires: *90;refresher=uac', 'Require: *timer'],
      steps: ({ port }) => [
        { pause: 40_000 },
        refresh(port[0]!, 2, 'reinvite', 'refresh-1'),
        { pause: 40_000 },
        refresh(port[0]!, 3, 'update', 'refresh-2'),
        { pause: 40_000 },
        { update: { headers: sessionTimer, expect: 200, answerMust: ['Session-Expires: *90;refresher=uac'], mark: 'refresh-3' } },
        { pause: 20_000 },
        { reinvite: { sdp: { port: port[0]!, version: 3 }, headers: sessionTimer, expect: 200, mark: 'refresh-4' } },
        { pause: 2500 },
      ],
      expect: ['in-conference', 'refresh-1', 'refresh-2', 'refresh-3', 'refresh-4'].map(BOTH_WAYS),
      lastsMs: 200_000,
    },
    {
      name: 'interop: a caller that stops refreshing its session timer is hung up once Session-Expires (90 s) has passed',
      headers: sessionTimer,
      answerMust: ['Session-Expires: *90;refresher=uac'],
      steps: () => [],
      endsWithGatewayBye: true,
      expect: [BOTH_WAYS('in-conference')],
      lastsMs: 130_000,
    },
    {
      name: 'interop: hold (sendonly, then inactive for 70 s with no RTP) and resume: the room hears nothing while held, the call stays, audio both ways after',
      steps: ({ port }) => [
        { reinvite: { sdp: { port: port[0]!, version: 2, direction: 'sendonly' }, expect: 200, answerMust: ['a=recvonly'], mark: 'held' } },
        { pause: 3000 },
        { reinvite: { sdp: { port: port[0]!, version: 3 }, expect: 200, answerMust: [SENDS_AND_RECEIVES], mark: 'resumed' } },
        { pause: 3000 },
        { reinvite: { sdp: { port: port[0]!, version: 4, direction: 'inactive' }, expect: 200, answerMust: ['a=inactive'], mark: 'inactive' } },
        // longer than rtp-timeout-sec (60 s): only a FreeSWITCH that knows the call is held keeps it
        { pause: 70_000 },
        { reinvite: { sdp: { port: port[0]!, version: 5 }, expect: 200, answerMust: [SENDS_AND_RECEIVES], mark: 'resumed-again' } },
        { pause: 3000 },
      ],
      // A phone on sendonly hold plays its music on hold: it keeps sending. On inactive it stops,
      // after 3 s (a sloppy one), so that the check of what the room hears there means something.
      during: async ({ caller }, mark) => {
        await sleep((await mark('inactive', 30_000)) + 3000 - Date.now());
        caller.send(undefined);
        await mark('resumed-again', 90_000);
        caller.send({ payloadType: 8, toneHz: CALLER_TONE_HZ });
      },
      expect: [
        BOTH_WAYS('in-conference'),
        { mark: 'held', fromMs: 500, toMs: 2500, roomHears: false },
        { mark: 'resumed', fromMs: 500, toMs: 2500, callerHears: true, roomHears: true },
        { mark: 'inactive', fromMs: 500, toMs: 2500, roomHears: false },
        { mark: 'resumed-again', fromMs: 800, toMs: 2500, callerHears: true, roomHears: true },
      ],
      lastsMs: 120_000,
    },
    {
      name: 'interop: a re-INVITE moves the media to another port (an SBC failing over): FreeSWITCH sends there at once, nothing to the old port, audio both ways after',
      sockets: 2,
      steps: ({ port }) => [
        { update: { expect: 200, mark: 'failover-begins' } },
        { pause: 600 },
        { reinvite: { sdp: { port: port[1]!, version: 2 }, expect: 200, answerMust: ['m=audio [1-9]'], mark: 'moved' } },
        { pause: 3500 },
      ],
      during: async ({ caller }, mark) => {
        await mark('failover-begins', 30_000);
        caller.send(undefined);
        // Silent for a second after the move: what reaches the new port comes of the re-INVITE alone.
        await sleep((await mark('moved', 10_000)) + 1000 - Date.now());
        caller.send({ payloadType: 8, toneHz: CALLER_TONE_HZ }, 1);
      },
      expect: [
        BOTH_WAYS('in-conference'),
        { mark: 'moved', fromMs: 100, toMs: 900, callerHears: true, callerSocket: 1 },
        { mark: 'moved', fromMs: 100, toMs: 3500, silentSocket: 0 },
        { mark: 'moved', fromMs: 1500, toMs: 3000, callerHears: true, callerSocket: 1, roomHears: true },
      ],
    },
    {
      name: 'interop: re-INVITEs offering T.38 or only unknown codecs get 488 and the call goes on; a re-INVITE without SDP gets our offer and the ACK its answer',
      steps: ({ port }) => [
        { reinvite: { sdp: { port: port[0]!, version: 2, t38: true }, expect: 488, mark: 't38-refused' } },
        { pause: 2500 },
        { reinvite: { sdp: { port: port[0]!, version: 2, codecs: ['unknown'] }, expect: 488, mark: 'codecs-refused' } },
        { pause: 2500 },
        { reinvite: { ackSdp: { port: port[0]!, version: 3 }, expect: 200, answerMust: ['m=audio [1-9]'], mark: 'offered' } },
        { pause: 2500 },
      ],
      expect: ['in-conference', 't38-refused', 'codecs-refused', 'offered'].map(BOTH_WAYS),
    },
    {
      name: 'interop: an offer of a codec FREESWITCH_CODECS names but FreeSWITCH lacks: FreeSWITCH refuses it, the caller gets 488 and the gateway ends the call (FreeSWITCH passes no audio after refusing)',
      steps: ({ port }) => [{ reinvite: { sdp: { port: port[0]!, version: 2, codecs: ['listed-unknown'] }, expect: 488, mark: 'refused-by-freeswitch' } }],
      endsWithGatewayBye: true,
      expect: [BOTH_WAYS('in-conference')],
    },
    {
      name: 'interop: an INVITE with Supported and Require: 100rel is answered and bridged, audio both ways',
      headers: ['Supported: 100rel, timer', 'Require: 100rel'],
      steps: () => [],
      expect: [BOTH_WAYS('in-conference')],
    },
    {
      name: 'interop: a G.722 (HD voice) caller is answered in G.722 and bridged, audio both ways',
      offer: (port) => ({ sdp: { port: port[0]!, version: 1, codecs: ['G722'] } }),
      answerMust: ['m=audio [0-9]+ RTP/AVP 9[ \\r]'],
      g722: true,
      steps: () => [],
      expect: [{ ...BOTH_WAYS('in-conference'), callerPayloadType: 9 }],
    },
  ];
}

/** Resolves with the time sipp logged the mark, polling its log while the call runs. */
function markWatch(logFile: string): MarkWatch {
  return async (name, withinMs = 60_000) => {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const at = existsSync(logFile) ? marksIn(readFileSync(logFile, 'utf8')).get(name) : undefined;
      if (at !== undefined) return at;
      if (Date.now() > deadline) throw new Error(`sipp never logged the answer marked ${name}`);
      await sleep(50);
    }
  };
}

function describeHeard(who: string, heard: Heard): string {
  return `${who} got ${heard.packets} packets (${heard.withTone} with the tone, ${heard.withSound} with sound, payload types ${heard.payloadTypes.join('/') || 'none'})`;
}

/** What did not arrive as expected, one line each. */
function mediaProblems(peers: Peers, marks: Map<string, number>, expectations: MediaExpectation[], g722: boolean): string[] {
  return expectations.flatMap((expected) => {
    const at = marks.get(expected.mark);
    if (at === undefined) return [`no answer marked ${expected.mark}`];
    const from = at + (expected.fromMs ?? 500);
    const to = at + (expected.toMs ?? 2000);
    const packets = (to - from) / PACKET_MS;
    const problems: string[] = [];
    const window = `${expected.mark} +${expected.fromMs ?? 500}–${expected.toMs ?? 2000} ms`;
    if (expected.callerHears !== undefined) {
      const heard = peers.caller.heard(from, to, { socket: expected.callerSocket ?? 0, toneHz: g722 ? undefined : ROOM_TONE_HZ });
      const carried = g722 ? heard.withSound : heard.withTone;
      if (expected.callerHears ? carried < packets / 2 : carried > 0) problems.push(`${window}: ${describeHeard('the caller', heard)}, expected ${expected.callerHears ? `about ${packets} with Jigasi's tone` : 'none of it'}`);
      if (expected.callerPayloadType !== undefined && heard.payloadTypes.join() !== String(expected.callerPayloadType)) {
        problems.push(`${window}: the caller got payload types ${heard.payloadTypes.join('/')}, expected ${expected.callerPayloadType}`);
      }
    }
    if (expected.roomHears !== undefined) {
      const heard = peers.jigasi.heard(from, to, { toneHz: CALLER_TONE_HZ });
      const carried = g722 ? heard.withSound : heard.withTone;
      if (expected.roomHears ? carried < packets / 2 : carried > 0) problems.push(`${window}: ${describeHeard('Jigasi', heard)}, expected ${expected.roomHears ? "about " + packets + " with the caller's sound" : "none of the caller's sound"}`);
    }
    if (expected.silentSocket !== undefined) {
      const heard = peers.caller.heard(from, to, { socket: expected.silentSocket });
      if (heard.packets > 0) problems.push(`${window}: ${heard.packets} packets still reached the caller's old port`);
    }
    return problems;
  });
}

async function runInterop(gateway: Gateway, work: string, testCase: InteropCase): Promise<string | undefined> {
  const callerNumber = nextCaller();
  const caller = await RtpPeer.open([ROOM_TONE_HZ], testCase.sockets ?? 1);
  const jigasi = await RtpPeer.open([CALLER_TONE_HZ]);
  const peers = { caller, jigasi };
  try {
    caller.send(testCase.g722 ? { payloadType: 9, noise: true } : { payloadType: 8, toneHz: CALLER_TONE_HZ });
    jigasi.send({ payloadType: 8, toneHz: ROOM_TONE_HZ });
    const offer = testCase.offer?.(caller.ports) ?? { sdp: { port: caller.ports[0]!, version: 1 } };
    const mark = markWatch(callerLogFile(work));
    const failure = await runCase(gateway, work, {
      name: testCase.name,
      prepare: async (bed) => ({ pin: await createPin(bed, {}) }),
      jigasi: [{ ...jigasiAnswers(maskedName(callerNumber)), mediaPort: jigasi.ports[0] }],
      caller: ({ pin }) => ({
        callerNumber,
        offer: offer.delayed ? { delayed: offer.sdp } : offer.sdp,
        headers: testCase.headers,
        answerMust: testCase.answerMust,
        steps: [...inConference(pin!, (testCase.headers ?? []).filter((line) => /^(Session-Expires|Supported|Min-SE):/i.test(line))), ...testCase.steps({ port: caller.ports }), ...(testCase.endsWithGatewayBye ? [] : [{ bye: true as const }])],
        expect: testCase.endsWithGatewayBye ? 'bye' : 'none',
      }),
      during: async () => testCase.during?.(peers, mark),
      outcome: 'completed',
      lastsMs: testCase.lastsMs,
    });
    const marks = existsSync(callerLogFile(work)) ? marksIn(readFileSync(callerLogFile(work), 'utf8')) : new Map<string, number>();
    const problems = [...(failure ? [failure] : []), ...mediaProblems(peers, marks, testCase.expect, testCase.g722 === true)];
    return problems.length > 0 ? problems.join('; ') : undefined;
  } finally {
    caller.close();
    jigasi.close();
  }
}

export function interopGroup(): E2eGroup {
  return {
    async start(work) {
      // A FREESWITCH_CODECS naming a codec FreeSWITCH lacks: an offer of it reaches FreeSWITCH, which refuses it.
      const gateway = await startGateway(work, { FREESWITCH_CODECS: 'PCMA,PCMU,G722,OPUS,X-FS-LACKS' });
      // jigasiAnswers expects the room password the call cases use.
      const room = await api(gateway, 'PUT', '/api/v1/rooms/gemeinderat', { password: '2468' }).catch((error: unknown) => error as Error);
      if (room instanceof Error || room.status >= 300) {
        await stopGateway(gateway);
        throw new Error(`setting up the room failed: ${room instanceof Error ? room.message : room.status}`);
      }
      return { gateway, stop: async () => stopGateway(gateway) };
    },
    cases: cases().map((testCase) => ({ name: testCase.name, run: async (gateway, work) => runInterop(gateway, work, testCase) })),
  };
}
