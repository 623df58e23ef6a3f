/**
 * Two gateway processes on one PostgreSQL database, one drachtio-server and two FreeSWITCH servers
 * (SPEC §6, several processes): drachtio-server hands the INVITEs to both processes in turn, each
 * spreads its calls over both FreeSWITCH; SIGTERM to one while it carries a call: the call goes on,
 * new calls go to the other, and the drained one exits once its call ended.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { callerScenario } from '../../tools/testbed/scenarios';
import { startSecondBeside } from './media-cases';
import { SECOND_FREESWITCH, type SecondFreeswitch } from '../../tools/testbed/freeswitch-process';
import { SIP_ADDRESS, api, conferencesReached, createPin, freeswitchChannelCount, liveCalls, runSipp, sleep, startGateway, stopGateway, type Gateway } from '../../tools/testbed/stack';
import { startPostgres, type TestPostgres } from '../../tools/testbed/postgres';
import { jigasiAnswers, maskedName, nextCaller, pcapSteps, runCase, type Case } from './call-case';
import type { E2eGroup } from './group';

let processes: [Gateway, Gateway] | undefined;
const CALLS = 20;
const spreadCaller = nextCaller();
const drainedCaller = nextCaller();

/** How many calls reached the conference in this gateway's own log. */
function cases(): Case[] {
  return [
    {
      name: 'two gateway processes, two FreeSWITCH: 20 calls, 10 taken by each process, 10 on each FreeSWITCH; each API lists all 20',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(spreadCaller), 10_000)],
      calls: CALLS,
      caller: ({ pin, work }) => ({ callerNumber: spreadCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: async () => {
        const [first, second] = processes!;
        for (let attempt = 0; (await liveCalls(first)).filter((call) => call.state === 'bridged').length < CALLS; attempt++) {
          if (attempt > 200) throw new Error(`the ${CALLS} calls never were all listed in the conference`);
          await sleep(200);
        }
        await sleep(1_500);
        const listed = [(await liveCalls(first)).length, (await liveCalls(second)).length];
        if (listed.join() !== `${CALLS},${CALLS}`) throw new Error(`calls listed by each process: ${listed.join(', ')}, expected ${CALLS} each`);
        const taken = [conferencesReached(first), conferencesReached(second)];
        if (taken.join() !== `${CALLS / 2},${CALLS / 2}`) throw new Error(`calls taken by each process: ${taken.join(', ')}, expected ${CALLS / 2} each`);
        const channels = [await freeswitchChannelCount(), await freeswitchChannelCount(SECOND_FREESWITCH.eslPort)];
        if (channels.join() !== `${CALLS},${CALLS}`) throw new Error(`channels per FreeSWITCH ${channels.join(', ')}, expected ${CALLS} each (two per call)`);
      },
      outcome: 'completed',
    },
    {
      name: 'SIGTERM to the process carrying a call: the call goes on, a new call is answered by the other, the drained process exits once its call ended',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(drainedCaller))],
      caller: ({ pin, work }) => ({ callerNumber: drainedCaller, steps: [...pcapSteps(work, [`${pin}#`]), { pause: 20_000 }, { bye: true }], expect: 'none' }),
      during: async (_gateway, work) => {
        const [first, second] = processes!;
        // Which process took the call: the one whose log says so. The API of either lists it (PostgreSQL)
        // before that line may have come through the log pipe, so wait for the line.
        const before = [conferencesReached(first), conferencesReached(second)];
        let call;
        for (let attempt = 0; !(call = (await liveCalls(first)).find((live) => live.state === 'bridged')) || conferencesReached(first) + conferencesReached(second) === before[0]! + before[1]!; attempt++) {
          if (attempt > 100) throw new Error('the call never reached the conference');
          await sleep(200);
        }
        const carrying = conferencesReached(first) > before[0]! ? first : second;
        const other = carrying === first ? second : first;
        const exited = new Promise((resolve) => carrying.process.once('exit', resolve));
        carrying.process.kill('SIGTERM');
        await sleep(500);
        // Answered, then our BYE at once: whoever answers it, it is not the draining process (that one says 503).
        const late = runSipp(work, 'late-caller', callerScenario({ callerNumber: nextCaller(), steps: [{ pause: 500 }, { bye: true }], expect: 'none' }), [SIP_ADDRESS, '-m', '1', '-i', '127.0.0.1', '-p', '5072', '-mp', '17200']);
        if ((await Promise.race([late.exit, sleep(15_000).then(() => -1)])) !== 0) throw new Error(`the new call during the drain was not answered (see ${work}/late-caller-errors.log)`);
        if ((await liveCalls(other)).find((live) => live.id === call.id)?.state !== 'bridged') throw new Error('the draining process\'s call was not in the conference any more');
        if ((await Promise.race([exited.then(() => 'exited'), sleep(30_000)])) !== 'exited') throw new Error('the drained process did not exit after its call ended');
      },
      outcomes: ['completed', 'answered-no-pin'],
    },
  ];
}

export function processGroup(): E2eGroup {
  return {
    async start(work) {
      let secondFreeswitch: SecondFreeswitch | undefined;
      let postgres: TestPostgres | undefined;
      const gateways: Gateway[] = [];
      const stop = async () => {
        await Promise.all(gateways.map(stopGateway));
        // Both logs, for a failed case (the runner prints only the group's gateway).
        gateways.forEach((gateway, index) => writeFileSync(join(work, `gateway-${index + 1}.log`), gateway.log.join('')));
        await postgres?.stop();
        await secondFreeswitch?.kill();
      };
      try {
        secondFreeswitch = await startSecondBeside(work);
        postgres = await startPostgres();
        const databaseUrl = await postgres.createDatabase();
        const shared = { DATABASE_URL: databaseUrl, FREESWITCH_SERVERS: `127.0.0.1:8021,127.0.0.1:${SECOND_FREESWITCH.eslPort}` };
        gateways.push(await startGateway(work, shared));
        gateways.push(await startGateway(work, shared));
        processes = [gateways[0]!, gateways[1]!];
        // jigasiAnswers expects the room password the call cases use.
        await api(gateways[0]!, 'PUT', '/api/v1/rooms/gemeinderat', { password: '2468' });
      } catch (error) {
        await stop();
        throw error;
      }
      // The cases reach both through `processes`; the survivor of the drain answers for the group.
      return { gateway: gateways[1]!, stop };
    },
    cases: cases().map((testCase) => ({ name: testCase.name, run: async (_gateway, work) => runCase(processes![1].process.exitCode === null ? processes![1] : processes![0], work, testCase) })),
  };
}
