/**
 * npm run test:e2e — calls through a real drachtio-server and FreeSWITCH with sipp playing the
 * trunk and Jigasi. Skips (exit 0) when the servers or sipp are not there; otherwise ends with
 * "N passed, N failed" and exits non-zero on any failure.
 *
 * Servers: DRACHTIO_HOST/PORT/SECRET and FREESWITCH_HOST/PORT/SECRET as for the service;
 * E2E_SIP_ADDRESS [DRACHTIO_HOST:5060] is where drachtio-server takes SIP. FreeSWITCH must run
 * with freeswitch-config/ (README: end-to-end tests). Nothing else may be connected to that
 * drachtio-server as an application, or it would take some of the calls.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dtmfPcapDurationMs, writeDtmfPcap } from '../../tools/testbed/rtp-pcap';
import { callerScenario, jigasiScenario, type CallerPlan, type JigasiBehaviour } from '../../tools/testbed/scenarios';
import { JIGASI_PORTS, MUC, SIP_ADDRESS, api, callOutcomes, freeswitchApi, freeswitchChannelCount, liveCalls, preflight, runSipp, sleep, startGateway, type Gateway } from '../../tools/testbed/stack';

interface Case {
  name: string;
  prepare?: (gateway: Gateway) => Promise<{ pin?: string }>;
  jigasi: Array<JigasiBehaviour | undefined>;
  caller: (setup: { pin?: string; work: string }) => CallerPlan;
  /** Bound to 127.0.0.2 instead of 127.0.0.1 (an untrusted source). */
  callerAddress?: string;
  during?: (gateway: Gateway) => Promise<void>;
  outcome?: string;
}

let numberCounter = 100;
const nextCaller = () => `+49413655${String(numberCounter++).padStart(4, '0')}`;

/**
 * Entries typed as RFC 4733 events; each waits until the previous one has played, plus
 * `gapMs` for the gateway to check it (or, for in-call keys, for the bridge to come up).
 */
function pcapSteps(work: string, entries: string[], gapMs = 1500, firstPauseMs = 1000): CallerPlan['steps'] {
  let previousMs = 0;
  let clockMs = 0;
  return entries.flatMap((keys) => {
    const path = join(work, `keys-${randomBytes(4).toString('hex')}.pcap`);
    const pause = previousMs === 0 ? firstPauseMs : previousMs + gapMs;
    clockMs += pause;
    writeDtmfPcap(path, keys, clockMs);
    previousMs = dtmfPcapDurationMs(keys);
    return [{ pause }, { pcap: path }];
  });
}

async function createPin(gateway: Gateway, body: Record<string, unknown>, room = 'gemeinderat'): Promise<string> {
  const response = await api(gateway, 'POST', `/api/v1/rooms/${room}/pins`, body);
  if (response.status !== 201) throw new Error(`creating a PIN failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { pin: string }).pin;
}

const jigasiAnswers = (displayName: string, holdMs?: number): Extract<JigasiBehaviour, { kind: 'answer' }> => ({
  kind: 'answer',
  room: `gemeinderat@${MUC}`,
  password: '2468',
  displayName,
  holdMs,
});

const maskedName = (number: string) => `Telefon ...${number.slice(-2)}`;

function cases(): Case[] {
  const lockedOutCaller = nextCaller();
  const [infoCaller, failoverCaller, kickedCaller, stoppedCaller] = [nextCaller(), nextCaller(), nextCaller(), nextCaller()];
  return [
    {
      name: 'valid PIN by RFC 2833: bridged to Jigasi, headers checked, Jigasi hangs up',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Frau Müller' }) }),
      jigasi: [jigasiAnswers('Frau Müller', 4000)],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'completed',
    },
    {
      name: 'PIN typed the moment the 200 OK arrives: no key lost',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Herr Schulz' }) }),
      jigasi: [jigasiAnswers('Herr Schulz', 3000)],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`], 1500, 0), expect: 'bye' }),
      outcome: 'completed',
    },
    {
      name: 'valid PIN by SIP INFO; the room sees the masked caller',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(infoCaller), 3000)],
      caller: ({ pin }) => ({ callerNumber: infoCaller, steps: [{ pause: 800 }, ...[...`${pin}#`].map((key) => ({ info: key }))], expect: 'bye' }),
      outcome: 'completed',
    },
    {
      name: 'wrong PIN until hang-up',
      jigasi: [],
      caller: ({ work }) => ({ callerNumber: lockedOutCaller, steps: pcapSteps(work, ['97531864#', '97531865#', '97531866#']), expect: 'bye' }),
      outcome: 'pin-failed',
    },
    {
      name: 'lockout after PIN_FAILURES_PER_HOUR wrong PINs',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [],
      caller: ({ pin, work }) => ({ callerNumber: lockedOutCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'locked-out',
    },
    {
      name: 'PIN not open yet',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { validFrom: new Date(Date.now() + 86_400_000).toISOString() }) }),
      jigasi: [],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'not-open',
    },
    {
      name: 'first Jigasi answers 503, the second answers',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [{ kind: 'refuse', status: 503 }, jigasiAnswers(maskedName(failoverCaller), 3000)],
      caller: ({ pin, work }) => ({ callerNumber: failoverCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'completed',
    },
    {
      name: 'every Jigasi down: "cannot reach the conference"',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [{ kind: 'refuse', status: 503 }, { kind: 'refuse', status: 503 }],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'jigasi-failed',
    },
    {
      name: 'caller hangs up while Jigasi rings: the INVITE is cancelled',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [{ kind: 'ring' }],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: [...pcapSteps(work, [`${pin}#`]), { pause: 4000 }, { bye: true }], expect: 'none' }),
      outcome: 'cancelled',
    },
    {
      name: 'caller hangs up during the greeting',
      jigasi: [],
      caller: () => ({ callerNumber: nextCaller(), steps: [{ pause: 1500 }, { bye: true }], expect: 'none' }),
      outcome: 'answered-no-pin',
    },
    {
      name: 'an administrator kicks the call through the API',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(kickedCaller))],
      caller: ({ pin, work }) => ({ callerNumber: kickedCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: async (gateway) => {
        const response = await api(gateway, 'DELETE', `/api/v1/calls/${await bridgedCallId(gateway)}`);
        if (response.status !== 204) throw new Error(`kick answered ${response.status}`);
      },
      outcome: 'kicked',
    },
    {
      name: 'a moderator mutes the caller: muted in FreeSWITCH, muteResponse OK to Jigasi',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Rat' }) }),
      jigasi: [{ ...jigasiAnswers('Rat', 3000), info: 'moderator-mute' }],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: expectCallerMutedInFreeswitch,
      outcome: 'completed',
    },
    {
      name: 'the caller presses *6: muted in FreeSWITCH, muteRequest to Jigasi',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Rat' }) }),
      jigasi: [{ ...jigasiAnswers('Rat'), info: 'expect-mute-request' }],
      // *6 after Jigasi has answered (3 s) and the bridge is up.
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: [...pcapSteps(work, [`${pin}#`, '*6'], 6000), { pause: 4000 }, { bye: true }], expect: 'none' }),
      during: expectCallerMutedInFreeswitch,
      outcome: 'completed',
    },
    {
      name: 'Jitsi asks for a room password the gateway lacks: the caller types it, it goes to Jigasi',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Rat' }, 'ohne-kennwort') }),
      jigasi: [{ ...jigasiAnswers('Rat'), room: `ohne-kennwort@${MUC}`, password: undefined, info: 'ask-password' }],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: [...pcapSteps(work, [`${pin}#`, '97531#'], 6000), { pause: 5000 }, { bye: true }], expect: 'none' }),
      outcome: 'completed',
    },
    {
      name: 'an INVITE from an untrusted source gets 403',
      jigasi: [],
      callerAddress: '127.0.0.2',
      caller: () => ({ callerNumber: nextCaller(), steps: [], expect: 'none', refusedWith: 403 }),
    },
    {
      // Last: the gateway does not come back.
      name: 'the gateway is stopped during the conference: caller and Jigasi get BYE, no FreeSWITCH channel stays',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(stoppedCaller))],
      caller: ({ pin, work }) => ({ callerNumber: stoppedCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: async (gateway) => {
        await bridgedCallId(gateway);
        const exited = new Promise((resolve) => gateway.process.once('exit', resolve));
        gateway.process.kill('SIGTERM');
        await exited;
      },
      outcome: 'service-stopped',
    },
  ];
}

/** Waits until one FreeSWITCH channel carries the gateway's mute media bug (uuid_audio … read mute). */
async function expectCallerMutedInFreeswitch(): Promise<void> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const uuids = (await freeswitchApi('show channels')).split('\n').slice(1).map((line) => line.split(',')[0]!).filter((uuid) => /^[0-9a-f-]{36}$/.test(uuid));
    for (const uuid of uuids) {
      if (/<target>mute<\/target>/.test(await freeswitchApi(`uuid_buglist ${uuid}`))) return;
    }
    await sleep(250);
  }
  throw new Error('no FreeSWITCH channel was muted');
}

/** The id of the first call that reaches the conference. */
async function bridgedCallId(gateway: Gateway): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const bridged = (await liveCalls(gateway)).find((call) => call.state === 'bridged');
    if (bridged) return bridged.id;
    await sleep(200);
  }
  throw new Error('the call never reached the conference');
}

async function settled(gateway: Gateway): Promise<string | undefined> {
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

async function runCase(gateway: Gateway, caseWork: string, testCase: Case): Promise<string | undefined> {
  const work = caseWork;
  const before = callOutcomes(gateway)[0];
  const setup = testCase.prepare ? await testCase.prepare(gateway) : {};
  const jigasis = testCase.jigasi.map((behaviour, index) =>
    behaviour ? runSipp(work, `jigasi-${index}`, jigasiScenario(behaviour, SIP_ADDRESS), ['-m', '1', '-i', '127.0.0.1', '-p', String(JIGASI_PORTS[index]), '-mp', String(16000 + index * 100)]) : undefined,
  );
  await sleep(300);
  const plan = testCase.caller({ ...setup, work });
  const caller = runSipp(work, 'caller', callerScenario(plan), [SIP_ADDRESS, '-m', '1', '-i', testCase.callerAddress ?? '127.0.0.1', '-p', '5071', '-mp', '17000']);
  const problems: string[] = [];
  const during = testCase.during?.(gateway).catch((error: unknown) => problems.push((error as Error).message));
  const callerExit = await Promise.race([caller.exit, sleep(90_000).then(() => -1)]);
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
  if (testCase.outcome !== undefined) {
    const outcome = callOutcomes(gateway)[0];
    if (outcome !== testCase.outcome) problems.push(`call record outcome ${outcome}, expected ${testCase.outcome}`);
  } else if (callOutcomes(gateway)[0] !== before) {
    problems.push('a call record was written for a refused INVITE');
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

async function main(): Promise<number> {
  const problems = await preflight();
  if (problems.length > 0) {
    process.stdout.write(`e2e suite skipped: ${problems.join('; ')}\n`);
    return 0;
  }
  const work = mkdtempSync(join(tmpdir(), 'dialin-e2e-'));
  const gateway = await startGateway(work);
  let passed = 0;
  let failed = 0;
  try {
    await api(gateway, 'PUT', '/api/v1/rooms/gemeinderat', { password: '2468' });
    for (const [index, testCase] of cases().entries()) {
      const started = Date.now();
      const caseWork = join(work, `case-${index + 1}`);
      mkdirSync(caseWork);
      const failure = await runCase(gateway, caseWork, testCase).catch((error: unknown) => `the case could not run: ${(error as Error).message}`);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (failure) {
        failed++;
        process.stdout.write(`✗ ${testCase.name} (${seconds} s): ${failure}\n`);
      } else {
        passed++;
        process.stdout.write(`✓ ${testCase.name} (${seconds} s)\n`);
      }
    }
  } finally {
    gateway.process.kill('SIGTERM');
    if (failed > 0) process.stdout.write(`gateway log (last lines):\n${gateway.log.join('').split('\n').slice(-30).join('\n')}\nsipp logs in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`e2e suite failed to run: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
