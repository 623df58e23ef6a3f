/**
 * npm run test:e2e — calls through a real drachtio-server and FreeSWITCH with sipp playing the
 * trunk and Jigasi. Skips (exit 0) when the servers or sipp are not there; otherwise ends with
 * "N passed, N failed" and exits non-zero on any failure.
 *
 * Servers: DRACHTIO_HOST/PORT/SECRET and FREESWITCH_HOST/PORT/SECRET as for the service;
 * E2E_SIP_ADDRESS [DRACHTIO_HOST:5060] is where drachtio-server takes SIP. FreeSWITCH must run
 * with freeswitch-config/ (README: end-to-end tests). Nothing else may be connected to that
 * drachtio-server as an application, or it would take some of the calls. E2E_ONLY (a regular
 * expression) runs only the cases whose names match. The case that kills FreeSWITCH needs it
 * running on this host, and starts it again the same way.
 */
import '../../tools/testbed/dotenv';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLocalFreeswitch, killHard, restart } from '../../tools/testbed/freeswitch-process';
import { MUC, SIP_ADDRESS, api, createPin, freeswitchApi, freeswitchChannelUuids, freeswitchRefusal, killStragglers, liveCalls, preflight, runSipp, sleep, startGateway, stopGateway, type Gateway } from '../../tools/testbed/stack';
import { callerScenario } from '../../tools/testbed/scenarios';
import { jigasiAnswers, maskedName, nextCaller, pcapSteps, runCase, type Case } from './call-case';
import { trunkGroup } from './trunk-cases';
import { dialOutGroup } from './dial-out-cases';
import { mediaGroup } from './media-cases';
import { processGroup } from './process-cases';
import { interopGroup } from './interop-cases';
import { realJitsiGroup } from './real-jitsi-cases';
import type { E2eGroup } from './group';

function cases(): Case[] {
  const lockedOutCaller = nextCaller();
  const [infoCaller, failoverCaller, kickedCaller, stoppedCaller] = [nextCaller(), nextCaller(), nextCaller(), nextCaller()];
  const [silentJigasiCaller, crashCaller, mapperCaller, codecCaller] = [nextCaller(), nextCaller(), nextCaller(), nextCaller()];
  return [
    {
      name: '*6, *6 again with Jigasi silent, hang-up a second later: the gateway lives on, nothing unexpected counted',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Rat' }) }),
      jigasi: [{ ...jigasiAnswers('Rat'), info: 'silent-on-unmute' }],
      caller: ({ pin, work }) => ({
        callerNumber: silentJigasiCaller,
        steps: [...pcapSteps(work, [`${pin}#`, '*6', '*6'], [6000, 1500]), { pause: 1000 }, { bye: true }],
        expect: 'none',
      }),
      during: async (gateway) => {
        await bridgedCallId(gateway);
        // The unmute waits 5 s for a muteResponse that never comes; the caller is gone after ~6 s.
        await sleep(16_000);
        if (gateway.process.exitCode !== null) throw new Error(`the gateway exited with ${gateway.process.exitCode}`);
        const health = await fetch(`${gateway.url}/healthz`);
        if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
        const unexpected = /dialin_unexpected_errors_total\{[^}]*\} [1-9]/.exec(await (await fetch(`${gateway.url}/metrics`)).text());
        if (unexpected) throw new Error(`unexpected errors counted: ${unexpected[0]}`);
      },
      outcome: 'completed',
    },
    {
      name: 'the next call after that succeeds',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Frau Müller' }) }),
      jigasi: [jigasiAnswers('Frau Müller', 3000)],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'completed',
    },
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
      name: 'Jigasi answers with no codec FreeSWITCH has: "cannot reach the conference", Jigasi gets BYE',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [{ ...jigasiAnswers(maskedName(codecCaller)), noCommonCodec: true }],
      caller: ({ pin, work }) => ({ callerNumber: codecCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
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
      name: 'a locked room the gateway has no password for: every Jigasi refuses (486), the caller types the password, the next INVITE carries it',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Rat' }, 'ohne-kennwort') }),
      jigasi: [
        { ...jigasiAnswers('Rat'), room: `ohne-kennwort@${MUC}`, lockedWith: '97531', calls: 2 },
        { ...jigasiAnswers('Rat'), room: `ohne-kennwort@${MUC}`, lockedWith: '97531', calls: 1 },
      ],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: [...pcapSteps(work, [`${pin}#`, '97531#'], 4000), { pause: 6000 }, { bye: true }], expect: 'none' }),
      outcome: 'completed',
    },
    {
      name: 'a PIN the mapper made, for a room that got a password since: Jigasi gets no password and refuses, the caller types it',
      prepare: async (gateway) => {
        const mapping = (await (await fetch(`${gateway.url}/conferenceMapper?conference=kennwort-spaeter@${MUC}`)).json()) as { id: number };
        const closed = await api(gateway, 'PUT', '/api/v1/rooms/kennwort-spaeter', { password: '2468' });
        if (closed.status !== 200) throw new Error(`setting the password failed: ${closed.status}`);
        return { pin: String(mapping.id) };
      },
      jigasi: [
        { ...jigasiAnswers(maskedName(mapperCaller)), room: `kennwort-spaeter@${MUC}`, lockedWith: '97531', calls: 2 },
        { ...jigasiAnswers(maskedName(mapperCaller)), room: `kennwort-spaeter@${MUC}`, lockedWith: '97531', calls: 1 },
      ],
      caller: ({ pin, work }) => ({ callerNumber: mapperCaller, steps: [...pcapSteps(work, [`${pin}#`, '97531#'], 4000), { pause: 6000 }, { bye: true }], expect: 'none' }),
      outcome: 'completed',
    },
    {
      name: 'an INVITE from an untrusted source gets 403',
      jigasi: [],
      callerAddress: '127.0.0.2',
      caller: () => ({ callerNumber: nextCaller(), steps: [], expect: 'none', refusedWith: 403 }),
    },
    {
      name: 'an INVITE without a Contact header gets 400',
      jigasi: [],
      caller: () => ({ callerNumber: nextCaller(), steps: [], expect: 'none', refusedWith: 400, withoutContact: true }),
    },
    {
      name: 'FreeSWITCH killed with 5 calls bridged: everyone gets BYE, within 15 s no call is listed, every record has its outcome; FreeSWITCH restarted',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(crashCaller))],
      calls: 5,
      caller: ({ pin, work }) => ({ callerNumber: crashCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: async (gateway, work) => {
        const freeswitch = findLocalFreeswitch();
        if (!freeswitch) throw new Error('no FreeSWITCH process on this host to kill (the case needs the test bed on this machine)');
        for (let attempt = 0; (await liveCalls(gateway)).filter((call) => call.state === 'bridged').length < 5; attempt++) {
          if (attempt > 150) throw new Error('the 5 calls never were all in the conference');
          await sleep(200);
        }
        await killHard(freeswitch.pid);
        const killedAt = Date.now();
        let listed = (await liveCalls(gateway)).length;
        while (listed > 0 && Date.now() - killedAt < 15_000) {
          await sleep(250);
          listed = (await liveCalls(gateway)).length;
        }
        // Also when the case fails: the cases after it need their FreeSWITCH.
        restart(freeswitch, join(work, 'freeswitch-restarted.log'));
        for (let attempt = 0; (await fetch(`${gateway.url}/readyz`)).status !== 200; attempt++) {
          if (attempt > 120) throw new Error('the gateway was not ready again 30 s after FreeSWITCH was restarted');
          await sleep(250);
        }
        if (listed > 0) throw new Error(`${listed} calls still listed 15 s after FreeSWITCH was killed`);
      },
      outcome: 'completed',
    },
    {
      name: 'after FreeSWITCH came back, a new call succeeds',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Herr Schulz' }) }),
      jigasi: [jigasiAnswers('Herr Schulz', 3000)],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'completed',
    },
    {
      name: 'three listeners of a room with listeners "shared": one INVITE to Jigasi (LISTENER_DISPLAY_NAME, shown muted), all three in one FreeSWITCH conference; Jigasi\'s BYE ends all three with the prompt',
      prepare: async (gateway) => {
        const room = await api(gateway, 'PUT', '/api/v1/rooms/ratssitzung', { listeners: 'shared' });
        if (room.status >= 300) throw new Error(`making the room shared failed: ${room.status}`);
        return { pin: await createPin(gateway, { role: 'listener' }, 'ratssitzung') };
      },
      jigasi: [{ kind: 'answer', room: `ratssitzung@${MUC}`, displayName: 'Telefon-Zuhörer', holdMs: 12_000, info: 'expect-mute-request' }],
      jigasiCalls: 1,
      calls: 3,
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: async (gateway) => {
        for (let attempt = 0; (await liveCalls(gateway)).filter((call) => call.state === 'bridged').length < 3; attempt++) {
          if (attempt > 100) throw new Error('the three listeners never reached the conference');
          await sleep(200);
        }
        const conferences = await freeswitchApi('conference list count');
        const members = Number(/dialin-listeners-\S+ \((\d+) member/.exec(conferences)?.[1]);
        if (members !== 4) throw new Error(`expected one conference of 4 members (the leg and three listeners), FreeSWITCH says: ${conferences.trim()}`);
        // The log arrives in chunks of several lines.
        const told = () => gateway.log.join('').split('\n').filter((line) => line.includes('the shared leg ended for this listener'));
        for (let attempt = 0; told().length < 3; attempt++) {
          if (attempt > 150) throw new Error('the listeners were not told that the leg ended');
          await sleep(200);
        }
        if (!told().every((line) => line.includes('"reason":"ended"'))) throw new Error(`listeners ended otherwise: ${told().join(' ')}`);
      },
      outcome: 'completed',
    },
    {
      // Last: the gateway does not come back.
      name: 'SIGTERM during the conference: the call goes on, /readyz says draining, a new caller gets 503 with Retry-After; a second SIGTERM: caller and Jigasi get BYE, no FreeSWITCH channel stays',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(stoppedCaller))],
      caller: ({ pin, work }) => ({ callerNumber: stoppedCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: async (gateway, work) => {
        const callId = await bridgedCallId(gateway);
        const exited = new Promise((resolve) => gateway.process.once('exit', resolve));
        gateway.process.kill('SIGTERM');
        for (let attempt = 0; ((await (await fetch(`${gateway.url}/readyz`)).json()) as { status: string }).status !== 'draining'; attempt++) {
          if (attempt > 40) throw new Error('/readyz never said draining');
          await sleep(100);
        }
        const late = runSipp(work, 'late-caller', callerScenario({ callerNumber: nextCaller(), steps: [], expect: 'none', refusedWith: 503, refusalHeader: 'Retry-After: 60' }), [
          SIP_ADDRESS, '-m', '1', '-i', '127.0.0.1', '-p', '5072', '-mp', '17200',
        ]);
        if ((await Promise.race([late.exit, sleep(10_000).then(() => -1)])) !== 0) throw new Error(`the late caller did not get 503 with Retry-After (see ${work}/late-caller-errors.log)`);
        await sleep(2_000);
        const stillUp = (await liveCalls(gateway)).find((call) => call.id === callId);
        if (stillUp?.state !== 'bridged') throw new Error(`the call did not go on while draining: ${stillUp?.state ?? 'gone'}`);
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
    for (const uuid of await freeswitchChannelUuids()) {
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

/** Whatever a group left running is killed before the next one starts; saying so, since it is a bug of the suite. */
async function reportStragglers(): Promise<void> {
  const killed = await killStragglers();
  if (killed > 0) process.stdout.write(`(${killed} gateway or sipp processes were still running after the group: killed)\n`);
}

/** The call cases, on one gateway that trusts 127.0.0.1 as its trunk; the last case stops it. */
function callGroup(): E2eGroup {
  return {
    async start(work) {
      const gateway = await startGateway(work);
      await api(gateway, 'PUT', '/api/v1/rooms/gemeinderat', { password: '2468' });
      return { gateway, stop: async () => stopGateway(gateway) };
    },
    cases: cases().map((testCase) => ({ name: testCase.name, run: async (gateway, work) => runCase(gateway, work, testCase) })),
  };
}

async function main(): Promise<number> {
  const problems = await preflight();
  if (problems.length > 0) {
    process.stdout.write(`e2e suite skipped: ${problems.join('; ')}\n`);
    return 0;
  }
  const refusal = await freeswitchRefusal();
  if (refusal) {
    process.stdout.write(`e2e suite failed to run: ${refusal}\n`);
    return 1;
  }
  const work = mkdtempSync(join(tmpdir(), 'dialin-e2e-'));
  const only = process.env.E2E_ONLY === undefined ? undefined : new RegExp(process.env.E2E_ONLY);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let caseNumber = 0;
  // One gateway at a time: drachtio-server hands each INVITE to one of its applications.
  for (const [groupIndex, group] of [callGroup(), interopGroup(), trunkGroup(), dialOutGroup(), mediaGroup(), processGroup(), realJitsiGroup()].entries()) {
    const selected = group.cases.filter((testCase) => !only || only.test(testCase.name));
    if (selected.length === 0) continue;
    const groupSkipped = await group.skipReason?.();
    if (groupSkipped) {
      skipped += selected.length;
      process.stdout.write(`- ${selected.length} cases skipped: ${groupSkipped}\n`);
      continue;
    }
    const groupWork = join(work, `group-${groupIndex + 1}`);
    mkdirSync(groupWork);
    const bed = await group.start(groupWork).catch((error: unknown) => error as Error);
    if (bed instanceof Error) {
      // A group that cannot start fails its cases; the suite goes on with the next group.
      for (const testCase of selected) {
        failed++;
        process.stdout.write(`✗ ${testCase.name}: the group could not start: ${bed.message}\n`);
      }
      await reportStragglers();
      continue;
    }
    const failedBefore = failed;
    try {
      for (const testCase of selected) {
        const skip = testCase.skipReason?.();
        if (skip) {
          skipped++;
          process.stdout.write(`- ${testCase.name}: skipped, ${skip}\n`);
          continue;
        }
        const started = Date.now();
        const caseWork = join(groupWork, `case-${++caseNumber}`);
        mkdirSync(caseWork);
        const failure = await testCase.run(bed.gateway, caseWork).catch((error: unknown) => `the case could not run: ${(error as Error).message}`);
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
      await bed.stop().catch((error: unknown) => {
        failed++;
        process.stdout.write(`✗ stopping group ${groupIndex + 1}: ${(error as Error).message}\n`);
      });
      if (failed > failedBefore) {
        writeFileSync(join(groupWork, 'gateway.log'), bed.gateway.log.join(''));
        process.stdout.write(`gateway log (last lines; all of it in ${groupWork}/gateway.log):\n${bed.gateway.log.join('').split('\n').slice(-30).join('\n')}\n`);
      }
      await reportStragglers();
    }
  }
  if (failed > 0) process.stdout.write(`sipp logs in ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
  process.stdout.write(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`e2e suite failed to run: ${(error as Error).stack ?? String(error)}\n`);
    await killStragglers();
    process.exit(1);
  },
);
