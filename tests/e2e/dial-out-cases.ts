/**
 * Dial-outs through a registered trunk, against sipp as the provider: 127.0.0.5:5080 first
 * takes the REGISTER (challenged, verifyauth), then, case by case, plays the phone that is
 * called. The room's Jigasi is sipp on 127.0.0.1:5091, as in the call cases.
 */
import { join } from 'node:path';
import { writeAudioPcap } from '../../tools/testbed/rtp-pcap';
import { calleeScenario, jigasiDialOutScenario, jigasiScenario, registrarScenario, type CalleePlan, type JigasiBehaviour } from '../../tools/testbed/scenarios';
import { JIGASI_PORTS, SIP_ADDRESS, api, callOutcomes, runSipp, sleep, startGateway, stopGateway, type Gateway } from '../../tools/testbed/stack';
import { jigasiAnswers, pcapSteps, settled } from './call-case';
import type { E2eGroup } from './group';

const PROVIDER = { address: '127.0.0.5', port: '5080', user: '0413612345', password: 'e2e-dialout-secret', realm: 'dialout.example' };
/** The trunk's number, the callee's caller id. */
export const CALLER_ID = '+494136123456';
const CALLEE = '+49 4136 555 901';

interface DialOutCase {
  name: string;
  /** Jitsi Meet's "invite by phone": Jigasi INVITEs the number through the gateway instead of POST …/dial-outs. */
  fromJitsiMeet?: boolean;
  callee?: (work: string) => CalleePlan;
  jigasi?: JigasiBehaviour;
  number?: string;
  label?: string;
  /** The outcome in the call record; undefined: the API refuses the dial-out. */
  outcome?: string;
  /** At least this long from placing to the end (s), e.g. the 15 s a callee has for the key. */
  atLeastSeconds?: number;
}

async function runDialOut(gateway: Gateway, work: string, testCase: DialOutCase): Promise<string | undefined> {
  const problems: string[] = [];
  const startedAt = Date.now();
  const callee = testCase.callee ? startCallee(work, testCase.callee(work)) : undefined;
  const jigasi = testCase.jigasi ? runSipp(work, 'jigasi-0', jigasiScenario(testCase.jigasi, SIP_ADDRESS), ['-i', '127.0.0.1', '-p', String(JIGASI_PORTS[0]), '-m', '1', '-mp', '16000']) : undefined;
  await sleep(300);
  if (testCase.fromJitsiMeet) return jigasiDialOut(gateway, work, testCase, callee!);
  const response = await api(gateway, 'POST', '/api/v1/rooms/gemeinderat/dial-outs', { number: testCase.number ?? CALLEE, label: testCase.label ?? 'Frau Meyer' });
  const body = (await response.json()) as { id?: string; error?: { code: string } };
  if (testCase.outcome === undefined) {
    if (response.status !== 422 || body.error?.code !== 'number-not-allowed') problems.push(`POST answered ${response.status} ${JSON.stringify(body)}, expected 422 number-not-allowed`);
    if ((await callOutcomes(gateway, startedAt)).length > 0) problems.push('a call record was written for a refused dial-out');
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    if (!/dialin_dial_outs_refused_total\{reason="denied"\} [1-9]/.test(metrics)) problems.push('the refusal was not counted');
    return problems.length > 0 ? problems.join('; ') : undefined;
  }
  if (response.status !== 202) return `POST answered ${response.status} ${JSON.stringify(body)}`;
  const calleeExit = callee ? await Promise.race([callee.exit, sleep(90_000).then(() => -1)]) : 0;
  const jigasiExit = jigasi ? await Promise.race([jigasi.exit, sleep(10_000).then(() => -1)]) : 0;
  callee?.kill();
  jigasi?.kill();
  if (calleeExit !== 0) problems.push(`callee sipp exited ${calleeExit} (see ${work}/callee-errors.log)`);
  if (jigasiExit !== 0) problems.push(`jigasi sipp exited ${jigasiExit} (see ${work}/jigasi-0-errors.log)`);
  const leftovers = await settled(gateway);
  if (leftovers) problems.push(leftovers);
  const dialOut = (await (await api(gateway, 'GET', `/api/v1/dial-outs/${body.id}`)).json()) as { state: string; outcome?: string; startedAt: string; endedAt?: string };
  if (dialOut.state !== 'ended' || dialOut.outcome !== testCase.outcome) problems.push(`GET /api/v1/dial-outs/{id} says ${JSON.stringify(dialOut)}, expected ended with ${testCase.outcome}`);
  const seconds = (Date.parse(dialOut.endedAt ?? '') - Date.parse(dialOut.startedAt)) / 1000;
  if (testCase.atLeastSeconds !== undefined && !(seconds >= testCase.atLeastSeconds)) problems.push(`it ended after ${seconds} s, expected at least ${testCase.atLeastSeconds} s`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Jigasi calls the number for the room; the callee's sipp presses 1; Jigasi hangs up after 3 s. */
async function jigasiDialOut(gateway: Gateway, work: string, testCase: DialOutCase, callee: ReturnType<typeof runSipp>): Promise<string | undefined> {
  const problems: string[] = [];
  const startedAt = Date.now();
  const jigasi = runSipp(work, 'jigasi-dials', jigasiDialOutScenario({ number: '494136555901', roomJid: 'gemeinderat@conference.meet.example.org', holdMs: 3000 }), [
    SIP_ADDRESS,
    '-i',
    '127.0.0.1',
    '-p',
    String(JIGASI_PORTS[0]),
    '-m',
    '1',
    '-mp',
    '16000',
  ]);
  const jigasiExit = await Promise.race([jigasi.exit, sleep(90_000).then(() => -1)]);
  const calleeExit = await Promise.race([callee.exit, sleep(10_000).then(() => -1)]);
  jigasi.kill();
  callee.kill();
  if (jigasiExit !== 0) problems.push(`Jigasi's sipp exited ${jigasiExit} (see ${work}/jigasi-dials-errors.log)`);
  if (calleeExit !== 0) problems.push(`callee sipp exited ${calleeExit} (see ${work}/callee-errors.log)`);
  const leftovers = await settled(gateway);
  if (leftovers) problems.push(leftovers);
  const outcomes = await callOutcomes(gateway, startedAt);
  if (outcomes.length !== 1 || outcomes[0] !== testCase.outcome) problems.push(`call records say ${JSON.stringify(outcomes)}, expected one ${testCase.outcome}`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

function cases(): DialOutCase[] {
  return [
    {
      name: 'dial-out: answered, 1 pressed: bridged to Jigasi with the label as display name; Jigasi ends it',
      callee: (work) => ({ callerId: CALLER_ID, steps: pcapSteps(work, ['1'], 1500, 2000)}),
      jigasi: jigasiAnswers('Frau Meyer', 3000),
      outcome: 'completed',
    },
    {
      name: 'dial-out: answered, no key: the gateway hangs up after the invitation and 15 s, nobody enters the meeting',
      callee: () => ({ callerId: CALLER_ID, steps: []}),
      outcome: 'declined',
      atLeastSeconds: 16,
    },
    {
      name: 'dial-out: answered by a voicemail playing a 25 s greeting: ended, never in the meeting',
      callee: (work) => {
        const greeting = join(work, 'voicemail-greeting.pcap');
        writeAudioPcap(greeting, 25_000);
        return { callerId: CALLER_ID, steps: [{ pcap: greeting }]};
      },
      outcome: 'declined',
      atLeastSeconds: 16,
    },
    {
      name: 'dial-out from Jitsi Meet: Jigasi INVITEs a number with the room header; 180 relayed, answered after the 1, bridged',
      fromJitsiMeet: true,
      callee: (work) => ({ callerId: CALLER_ID, steps: pcapSteps(work, ['1'], 1500, 2000)}),
      outcome: 'completed',
    },
    {
      name: 'dial-out: a premium-rate number is refused (422) before any SIP',
      number: '+49 900 5 123456',
    },
  ];
}

/** sipp as the phone the trunk calls, at the provider's address. */
export function startCallee(work: string, plan: CalleePlan): ReturnType<typeof runSipp> {
  return runSipp(work, 'callee', calleeScenario(plan), ['-i', PROVIDER.address, '-p', PROVIDER.port, '-m', '1', '-mp', '17000']);
}

/** A gateway whose trunk has registered with sipp as the provider; the provider's address is then free for the callees. */
export async function startGatewayWithTrunk(work: string, env: Record<string, string>): Promise<Gateway> {
  const registrar = runSipp(work, 'registrar', registrarScenario({ answer: 'challenge', realm: PROVIDER.realm, user: PROVIDER.user, password: PROVIDER.password, grantSeconds: 600 }), ['-i', PROVIDER.address, '-p', PROVIDER.port, '-m', '1']);
  try {
    await sleep(300);
    const gateway = await startGateway(work, {
      TRUNK_REGISTRAR: `sip:${PROVIDER.address}:${PROVIDER.port}`,
      TRUNK_USER: PROVIDER.user,
      TRUNK_PASSWORD: PROVIDER.password,
      TRUNK_NUMBERS: CALLER_ID,
      ...env,
    });
    // Registered (the gateway is ready only then).
    await Promise.race([registrar.exit, sleep(5_000)]);
    return gateway;
  } finally {
    registrar.kill();
  }
}

export function dialOutGroup(): E2eGroup {
  return {
    async start(work) {
      const gateway = await startGatewayWithTrunk(work, { LOG_LEVEL: 'debug' });
      await api(gateway, 'PUT', '/api/v1/rooms/gemeinderat', { password: '2468' });
      return { gateway, stop: async () => stopGateway(gateway) };
    },
    cases: cases().map((testCase) => ({ name: testCase.name, run: async (gateway, work) => runDialOut(gateway, work, testCase) })),
  };
}
