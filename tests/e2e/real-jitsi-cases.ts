/**
 * The real Jitsi (SPEC §6, "The real Jitsi in the test bed"): Prosody, Jicofo, the videobridge and
 * Jigasi, built from their public sources and run beside drachtio-server and FreeSWITCH (README,
 * end-to-end tests), with Jigasi configured exactly as the project ships it (jigasi-config/,
 * docker-compose.yml). A caller (sipp, its media an RTP peer here) dials in; an XMPP observer in
 * the room sees what Jitsi Meet would show; a browser participant (lib-jitsi-meet in headless
 * Chromium, E2E_LIB_JITSI_MEET) is the moderator, sends a tone and hears the phone. Skips, saying
 * why, when the servers are not there.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { RtpPeer } from '../../tools/testbed/rtp-peer';
import { RoomObserver, type Occupant } from '../../tools/testbed/jitsi/observer';
import { openJitsiBrowser, type JitsiBrowser, type Participant } from '../../tools/testbed/jitsi/participant';
import type { SeenParticipant } from '../../tools/testbed/jitsi/page-api';
import type { CallerStep } from '../../tools/testbed/scenarios';
import { api, callOutcomes, createPin, freeswitchApi, freeswitchChannelUuids, liveCalls, reachable, sleep, stopGateway, type Gateway } from '../../tools/testbed/stack';
import { nextCaller, pcapSteps, runCase, settled } from './call-case';
import { CALLER_ID, startCallee, startGatewayWithTrunk } from './dial-out-cases';
import type { E2eGroup } from './group';

const env = process.env;
const [XMPP_HOST = '127.0.0.1', XMPP_PORT = '5222'] = (env.E2E_JITSI_XMPP ?? '127.0.0.1:5222').split(':');
const DOMAIN = env.E2E_JITSI_DOMAIN ?? 'meet.jitsi';
const MUC = `muc.${DOMAIN}`;
/** Prosody's HTTP: the websocket the observer and the browser use (its client port offers STARTTLS with the test bed's self-signed certificate). */
const XMPP_WEBSOCKET = `ws://${env.E2E_JITSI_HTTP ?? `${XMPP_HOST}:5280`}/xmpp-websocket`;
const JIGASI = env.E2E_JIGASI_SIP ?? '127.0.0.1:5070';
const JIGASI_STATS = env.E2E_JIGASI_STATS ?? 'http://127.0.0.1:8788/about/stats';
const LIB_JITSI_MEET = env.E2E_LIB_JITSI_MEET;

const CALLER_TONE_HZ = 400;
const ROOM_TONE_HZ = 880;

/** Whether Jigasi answers a SIP OPTIONS on UDP. */
async function sipAnswers(address: string): Promise<boolean> {
  const [host = '127.0.0.1', port = '5060'] = address.split(':');
  const socket = createSocket('udp4');
  const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  return new Promise((resolve) => {
    const done = (answered: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), 2000);
    socket.once('error', () => done(false));
    socket.once('message', (message) => done(/^SIP\/2\.0 \d{3}/.test(message.toString())));
    socket.bind(0, '127.0.0.1', () => {
      const { port: local } = socket.address();
      const options = [
        `OPTIONS sip:jigasi@${host}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport`,
        `From: <sip:e2e@127.0.0.1:${local}>;tag=${branch}`,
        `To: <sip:jigasi@${host}:${port}>`,
        `Call-ID: ${branch}@e2e`,
        'CSeq: 1 OPTIONS',
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(options, Number(port), host);
    });
  });
}

async function jigasiStats(): Promise<{ conferences: number; participants: number } | undefined> {
  try {
    return (await (await fetch(JIGASI_STATS)).json()) as { conferences: number; participants: number };
  } catch {
    return undefined;
  }
}

const roomName = (what: string) => `rj-${what}-${randomBytes(3).toString('hex')}`;
const byName = (name: string) => (occupants: Occupant[]) => occupants.some((occupant) => occupant.name === name);

interface RealCall {
  room: string;
  /** Default: the next test number. */
  callerNumber?: string;
  /** PIN body (label, role). */
  pin?: Record<string, unknown>;
  /** After the PIN: what the caller does, then its BYE (unless the gateway ends the call). */
  steps: CallerStep[];
  /** Runs while the call does; the RTP peer is the caller's media. */
  during: (bed: { gateway: Gateway; caller: RtpPeer }) => Promise<void>;
  /** Callers placed at once with the same PIN (listeners). */
  calls?: number;
  /** A room set up before the call (password, listeners). */
  roomSettings?: Record<string, unknown>;
}

/** One call into the real Jitsi: sipp as the caller typing its PIN by SIP INFO, its media an RTP peer sending a tone. */
async function callIn(gateway: Gateway, work: string, call: RealCall): Promise<string | undefined> {
  const caller = await RtpPeer.open([ROOM_TONE_HZ]);
  const callerNumber = call.callerNumber ?? nextCaller();
  try {
    caller.send({ payloadType: 8, toneHz: CALLER_TONE_HZ });
    return await runCase(gateway, work, {
      name: call.room,
      prepare: async (bed) => {
        if (call.roomSettings) {
          const response = await api(bed, 'PUT', `/api/v1/rooms/${call.room}`, call.roomSettings);
          if (response.status >= 300) throw new Error(`setting up room ${call.room} failed: ${response.status}`);
        }
        return { pin: await createPin(bed, call.pin ?? {}, call.room) };
      },
      jigasi: [],
      caller: ({ pin }) => ({
        callerNumber,
        offer: { port: caller.ports[0]!, version: 1 },
        steps: [{ pause: 800 }, ...[...`${pin}#`].map((key) => ({ info: key })), ...call.steps, { bye: true }],
        expect: 'none',
      }),
      during: async (bed) => call.during({ gateway: bed, caller }),
      outcome: 'completed',
      calls: call.calls,
    });
  } finally {
    caller.close();
  }
}

/** Jigasi keeps nothing of the call once it has left the room. */
async function jigasiEmpty(): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const stats = await jigasiStats();
    if (stats && stats.conferences === 0 && stats.participants === 0) return;
    await sleep(200);
  }
  throw new Error(`Jigasi still reports ${JSON.stringify(await jigasiStats())} after the call`);
}

/** A room with the browser in it as moderator (sending ROOM_TONE_HZ) for as long as `run` runs. */
async function withModerator(browser: JitsiBrowser, what: string, run: (moderator: Participant, room: string) => Promise<string | undefined>): Promise<string | undefined> {
  const room = roomName(what);
  const moderator = await browser.open({ room, name: 'Sitzungsleitung', toneHz: ROOM_TONE_HZ });
  try {
    return await run(moderator, room);
  } finally {
    await moderator.leave();
  }
}

interface Bed {
  gateway: Gateway;
  browser?: JitsiBrowser;
}

interface RealCase {
  name: string;
  needsBrowser?: true;
  run: (bed: Bed, work: string) => Promise<string | undefined>;
}

function cases(): RealCase[] {
  return [
    {
      name: 'real Jitsi: a caller with a labelled PIN: Jigasi joins the room the PIN names, shown under the label and never the number; the caller hangs up, it leaves; nothing is left in FreeSWITCH, Jigasi or the API',
      run: async ({ gateway }, work) => {
        const room = roomName('label');
        const callerNumber = nextCaller();
        const observer = await RoomObserver.join({ service: XMPP_WEBSOCKET, domain: DOMAIN, muc: MUC, room });
        try {
          return await callIn(gateway, work, {
            room,
            callerNumber,
            pin: { label: 'Ratsmitglied Meyer' },
            steps: [{ pause: 12_000 }],
            during: async () => {
              const [phone] = (await observer.waitFor(byName('Ratsmitglied Meyer'), 15_000, 'the phone participant under its label')).filter((occupant) => occupant.name === 'Ratsmitglied Meyer');
              const seen = phone!.presences.join('\n');
              // not the number, nor its last four digits, nor the masked "Telefon …34" a label replaces
              if (seen.includes(callerNumber.slice(-4)) || /Telefon/.test(seen)) throw new Error(`the caller's number shows in what the room sees: ${seen.slice(0, 600)}`);
              await observer.waitFor((occupants) => !occupants.some((occupant) => occupant.name === 'Ratsmitglied Meyer'), 30_000, 'the phone participant to leave');
              await jigasiEmpty();
            },
          });
        } finally {
          await observer.leave();
        }
      },
    },
    {
      name: "real Jitsi: audio both ways: the browser hears the caller's tone, the caller's RTP carries the browser's",
      needsBrowser: true,
      run: async ({ gateway, browser }, work) =>
        withModerator(browser!, 'audio', async (moderator, room) => {
        let inRoomAt = 0;
        let callerHeard = { packets: 0, withTone: 0 };
        const failure = await callIn(gateway, work, {
          room,
          pin: { label: 'Herr Schulz' },
          steps: [{ pause: 20_000 }],
          during: async ({ caller }) => {
            await waitForParticipant(moderator, 'Herr Schulz', 20_000);
            inRoomAt = Date.now();
            await sleep(3000);
            const heard = (await moderator.heard(1500)).find((track) => track.name === 'Herr Schulz');
            if (!heard || heard.peakHz === null || Math.abs(heard.peakHz - CALLER_TONE_HZ) > 15 || heard.rms < 0.01) throw new Error(`the browser heard from the phone ${JSON.stringify(heard)}, expected ${CALLER_TONE_HZ} Hz`);
            callerHeard = caller.heard(inRoomAt + 3000, inRoomAt + 5000, { toneHz: ROOM_TONE_HZ });
          },
        });
        const expected = 2000 / 20;
        const media = callerHeard.withTone < expected / 2 ? [`the caller's RTP carried the browser's ${ROOM_TONE_HZ} Hz in ${callerHeard.withTone} of ${callerHeard.packets} packets (2 s after the participant appeared), expected about ${expected}`] : [];
        const problems = [...(failure ? [failure] : []), ...media];
        return problems.length > 0 ? problems.join('; ') : undefined;
        }),
    },
    {
      name: 'real Jitsi: a moderator mutes the phone in the browser: the caller hears the mute prompt and the room no longer hears the phone; *6: the room sees it unmuted and hears it again',
      needsBrowser: true,
      run: async ({ gateway, browser }, work) =>
        withModerator(browser!, 'mute', async (moderator, room) => {
        return await callIn(gateway, work, {
          room,
          pin: { label: 'Frau Weber' },
          // *6 once the moderator's mute is through (it comes some 8 s after the PIN), then time to see the unmute
          steps: [{ pause: 18_000 }, { info: '*' }, { info: '6' }, { pause: 10_000 }],
          during: async () => {
            const phone = await waitForParticipant(moderator, 'Frau Weber', 16_000);
            await sleep(1500);
            const bugs = watchMediaBugs(5000);
            await moderator.muteParticipant(phone.id);
            await waitForParticipant(moderator, 'Frau Weber', 5000, true);
            // FreeSWITCH mutes the caller's channel (a read mute) and mixes the prompt into what it hears (displace)
            const seen = await bugs;
            if (!seen.has('mute') || !seen.has('displace')) throw new Error(`after the moderator's mute FreeSWITCH's channels carried the media bugs ${JSON.stringify([...seen])}, expected the mute and the displaced prompt`);
            await sleep(1000);
            const whileMuted = (await moderator.heard(1000)).find((track) => track.name === 'Frau Weber');
            if (whileMuted && whileMuted.rms > 0.01 && whileMuted.peakHz !== null && Math.abs(whileMuted.peakHz - CALLER_TONE_HZ) < 15) throw new Error(`the room still hears the muted phone: ${JSON.stringify(whileMuted)}`);
            await waitForParticipant(moderator, 'Frau Weber', 16_000, false);
            await sleep(1500);
            const afterUnmute = (await moderator.heard(1000)).find((track) => track.name === 'Frau Weber');
            if (!afterUnmute || afterUnmute.peakHz === null || Math.abs(afterUnmute.peakHz - CALLER_TONE_HZ) > 15) throw new Error(`after *6 the room hears from the phone ${JSON.stringify(afterUnmute)}`);
          },
        });
        }),
    },
    {
      name: "real Jitsi: a room locked with the password the gateway has stored: the caller gets in",
      needsBrowser: true,
      run: async ({ gateway, browser }, work) =>
        withModerator(browser!, 'locked', async (moderator, room) => {
        await moderator.lock('24681357');
        return await callIn(gateway, work, {
          room,
          roomSettings: { password: '24681357' },
          pin: { label: 'Herr Busch' },
          steps: [{ pause: 14_000 }],
          during: async () => {
            await waitForParticipant(moderator, 'Herr Busch', 14_000);
          },
        });
        }),
    },
    {
      name: 'real Jitsi: a room locked with a password the gateway does not have: the caller is asked, types it, and gets in',
      needsBrowser: true,
      run: async ({ gateway, browser }, work) =>
        withModerator(browser!, 'ask', async (moderator, room) => {
        await moderator.lock('97531');
        return await callIn(gateway, work, {
          room,
          pin: { label: 'Frau Lange' },
          // Jigasi is refused, Jitsi asks the gateway for the password, the caller is asked for it
          steps: [{ pause: 10_000 }, ...[...'97531#'].map((key) => ({ info: key })), { pause: 14_000 }],
          during: async () => {
            await waitForParticipant(moderator, 'Frau Lange', 25_000);
          },
        });
        }),
    },
    {
      name: 'real Jitsi: a room with a lobby: the caller waits hearing the lobby prompt, the moderator admits it in the browser, and it is in',
      needsBrowser: true,
      run: async ({ gateway, browser }, work) =>
        withModerator(browser!, 'lobby', async (moderator, room) => {
        await moderator.enableLobby();
        return await callIn(gateway, work, {
          room,
          pin: { label: 'Herr Vogt' },
          steps: [{ pause: 25_000 }],
          during: async ({ caller }) => {
            const deadline = Date.now() + 15_000;
            let knocking = await moderator.knocking();
            while (knocking.length === 0) {
              if (Date.now() > deadline) throw new Error('nobody knocked at the lobby');
              await sleep(200);
              knocking = await moderator.knocking();
            }
            const knockedAt = Date.now();
            await sleep(3000);
            // nothing of the room reaches the caller in the lobby: any sound is the gateway's prompt
            const waiting = caller.heard(knockedAt, knockedAt + 3000);
            if (waiting.withSound < 10) throw new Error(`the caller heard no lobby prompt while waiting: ${JSON.stringify(waiting)}`);
            await moderator.admit(knocking[0]!.id);
            await waitForParticipant(moderator, 'Herr Vogt', 15_000);
          },
        });
        }),
    },
    {
      name: 'real Jitsi: a listener PIN: the phone is muted in the room and *6 cannot unmute it',
      needsBrowser: true,
      run: async ({ gateway, browser }, work) =>
        withModerator(browser!, 'listener', async (moderator, room) => {
        return await callIn(gateway, work, {
          room,
          pin: { label: 'Zuhörerin Roth', role: 'listener' },
          steps: [{ pause: 14_000 }, { info: '*' }, { info: '6' }, { pause: 8000 }],
          during: async () => {
            await waitForParticipant(moderator, 'Zuhörerin Roth', 14_000);
            await waitForParticipant(moderator, 'Zuhörerin Roth', 5000, true);
            // past the *6 and its answer
            await sleep(14_000);
            const after = (await moderator.participants()).find((seen) => seen.name === 'Zuhörerin Roth');
            if (after?.audioMuted !== true) throw new Error(`after *6 the listener is ${JSON.stringify(after)}`);
          },
        });
        }),
    },
    {
      name: 'real Jitsi: five listener callers of a room with listeners "shared": the room shows ONE phone participant',
      needsBrowser: true,
      run: async ({ gateway, browser }, work) =>
        withModerator(browser!, 'shared', async (moderator, room) => {
        return await callIn(gateway, work, {
          room,
          calls: 5,
          roomSettings: { listeners: 'shared' },
          pin: { role: 'listener' },
          steps: [{ pause: 16_000 }],
          during: async ({ gateway }) => {
            await waitForParticipant(moderator, 'Telefon-Zuhörer', 16_000);
            await sleep(4000);
            const seen = (await moderator.participants()).map((participant) => participant.name);
            if (seen.join() !== 'Telefon-Zuhörer') throw new Error(`the room shows ${JSON.stringify(seen)}, expected one "Telefon-Zuhörer"`);
            const legs = (await liveCalls(gateway)).filter((call) => (call as { listeners?: number }).listeners !== undefined);
            if (legs.length !== 1 || (legs[0] as { listeners?: number }).listeners !== 5) throw new Error(`the gateway lists shared legs ${JSON.stringify(legs)}, expected one with 5 listeners`);
          },
        });
        }),
    },
    {
      name: "real Jitsi: the moderator invites a phone number from Jitsi Meet: Jicofo asks Jigasi, Jigasi's INVITE reaches the gateway, the trunk rings the callee, it presses 1 and is in the room",
      needsBrowser: true,
      run: async ({ gateway, browser }, work) => {
        const room = roomName('dialout');
        const moderator = await browser!.open({ room, name: 'Sitzungsleitung', toneHz: ROOM_TONE_HZ });
        const startedAt = Date.now();
        const callee = startCallee(work, { callerId: CALLER_ID, steps: pcapSteps(work, ['1'], 1500, 2000) });
        const problems: string[] = [];
        try {
          await sleep(300);
          // what the invite dialog sends for "+49 4136 555901": the digits, without "+"
          const dialed = await moderator.dial('494136555901');
          if (!dialed.ok) throw new Error(`Jitsi Meet's dial failed: ${dialed.error}`);
          const deadline = Date.now() + 40_000;
          while ((await liveCalls(gateway))[0]?.state !== 'bridged') {
            if (Date.now() > deadline) throw new Error(`the dial-out never reached the conference; the gateway lists ${JSON.stringify(await liveCalls(gateway))}`);
            await sleep(300);
          }
          // Jigasi shows the number it was asked to call: the moderator typed it
          const phone = await waitForParticipant(moderator, '494136555901', 5000);
          // The moderator ends it in Jitsi Meet: Jigasi hangs up, the gateway ends the callee's call.
          await moderator.kickParticipant(phone.id);
        } catch (error) {
          problems.push((error as Error).message);
        } finally {
          await moderator.leave();
        }
        const calleeExit = await Promise.race([callee.exit, sleep(30_000).then(() => -1)]);
        callee.kill();
        if (calleeExit !== 0) problems.push(`callee sipp exited ${calleeExit} (see ${work}/callee-errors.log)`);
        const leftovers = await settled(gateway);
        if (leftovers) problems.push(leftovers);
        const outcomes = await callOutcomes(gateway, startedAt);
        if (outcomes.join() !== 'completed') problems.push(`call records say ${JSON.stringify(outcomes)}, expected one completed`);
        return problems.length > 0 ? problems.join('; ') : undefined;
      },
    },
  ];
}

/** The participant called `name` as the browser sees it, once it is there (and, when `muted` is given, muted or unmuted). */
async function waitForParticipant(participant: Participant, name: string, timeoutMs: number, muted?: boolean): Promise<SeenParticipant> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = (await participant.participants()).find((candidate) => candidate.name === name && (muted === undefined || candidate.audioMuted === muted));
    if (seen) return seen;
    if (Date.now() > deadline) throw new Error(`the browser never saw ${name}${muted === undefined ? '' : muted ? ' muted' : ' unmuted'}; it sees ${JSON.stringify(await participant.participants())}`);
    await sleep(200);
  }
}

/** The media bugs (their function, and a read mute's target) on FreeSWITCH's channels during `ms`. */
async function watchMediaBugs(ms: number): Promise<Set<string>> {
  const seen = new Set<string>();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const uuid of await freeswitchChannelUuids()) {
      const list = await freeswitchApi(`uuid_buglist ${uuid}`);
      for (const [, name] of list.matchAll(/<function>([^<]+)<\/function>/g)) seen.add(name!.includes('displace') ? 'displace' : name!);
      if (/<target>mute<\/target>/.test(list)) seen.add('mute');
    }
    await sleep(150);
  }
  return seen;
}

export function realJitsiGroup(): E2eGroup {
  const browserMissing =
    LIB_JITSI_MEET === undefined ? 'E2E_LIB_JITSI_MEET is not set (the lib-jitsi-meet.min.js built from jitsi/lib-jitsi-meet)' : existsSync(LIB_JITSI_MEET) ? undefined : `E2E_LIB_JITSI_MEET=${LIB_JITSI_MEET}: no such file`;
  let bed: Bed | undefined;
  return {
    async skipReason() {
      if (!(await reachable(XMPP_HOST, Number(XMPP_PORT)))) return `no XMPP server at ${XMPP_HOST}:${XMPP_PORT} (E2E_JITSI_XMPP)`;
      if (!(await sipAnswers(JIGASI))) return `no Jigasi answering SIP OPTIONS at ${JIGASI} (E2E_JIGASI_SIP)`;
      return undefined;
    },
    async start(work) {
      const browser = browserMissing ? undefined : await openJitsiBrowser({ serviceUrl: XMPP_WEBSOCKET, domain: DOMAIN, muc: MUC, libJitsiMeet: LIB_JITSI_MEET! });
      let gateway: Gateway;
      try {
        // As an operator configures the gateway for the compose profile "jitsi" (.env.example), with a trunk.
        gateway = await startGatewayWithTrunk(work, { JIGASI_URIS: `sip:jigasi@${JIGASI}`, JITSI_MUC_DOMAIN: MUC, JIGASI_HEALTH_CHECK_SECONDS: '30' });
      } catch (error) {
        await browser?.close();
        throw error;
      }
      bed = { gateway, browser };
      return {
        gateway,
        stop: async () => {
          await stopGateway(gateway);
          await browser?.close();
        },
      };
    },
    cases: cases().map((testCase) => ({
      name: testCase.name,
      skipReason: () => (testCase.needsBrowser ? browserMissing : undefined),
      run: async (_gateway, work) => testCase.run(bed!, work),
    })),
  };
}
