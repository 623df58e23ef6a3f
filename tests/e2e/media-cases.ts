/**
 * Two FreeSWITCH servers (FREESWITCH_SERVERS) on the real stack: the test bed's, and a second one
 * this group starts beside it on other ports. Calls spread over both; killing one ends only its
 * calls, and new calls go to the other.
 */
import { findLocalFreeswitch, SECOND_FREESWITCH, startSecond, type SecondFreeswitch } from '../../tools/testbed/freeswitch-process';
import { api, createPin, freeswitchApi, freeswitchChannelCount, liveCalls, sleep, startGateway, stopGateway, type Gateway } from '../../tools/testbed/stack';
import { jigasiAnswers, maskedName, nextCaller, pcapSteps, runCase, type Case } from './call-case';
import type { E2eGroup } from './group';

let second: SecondFreeswitch | undefined;
const spreadCaller = nextCaller();

async function bridged(gateway: Gateway, count: number): Promise<void> {
  for (let attempt = 0; (await liveCalls(gateway)).filter((call) => call.state === 'bridged').length < count; attempt++) {
    if (attempt > 150) throw new Error(`the ${count} calls never were all in the conference`);
    await sleep(200);
  }
}

function cases(): Case[] {
  return [
    {
      name: 'two FreeSWITCH servers: 4 calls, 2 on each (both channels of a call on one); the second killed: only its 2 calls end, the others stay in the conference',
      prepare: async (gateway) => ({ pin: await createPin(gateway, {}) }),
      jigasi: [jigasiAnswers(maskedName(spreadCaller))],
      calls: 4,
      caller: ({ pin, work }) => ({ callerNumber: spreadCaller, steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      during: async (gateway) => {
        await bridged(gateway, 4);
        const channels = [await freeswitchChannelCount(), await freeswitchChannelCount(SECOND_FREESWITCH.eslPort)];
        if (channels.join() !== '4,4') throw new Error(`channels per FreeSWITCH ${channels.join(', ')}, expected 4, 4`);
        await second!.kill();
        const killedAt = Date.now();
        let left = await liveCalls(gateway);
        while (left.length > 2 && Date.now() - killedAt < 10_000) {
          await sleep(200);
          left = await liveCalls(gateway);
        }
        if (left.length !== 2 || left.some((call) => call.state !== 'bridged')) throw new Error(`after the kill: ${JSON.stringify(left.map((call) => call.state))}, expected 2 bridged`);
        if ((await freeswitchChannelCount()) !== 4) throw new Error('the calls on the first FreeSWITCH lost channels');
        for (const call of left) await api(gateway, 'DELETE', `/api/v1/calls/${call.id}`);
      },
      // In the conference, a lost FreeSWITCH ends a call as "completed" (call-outcome.ts); the other two are kicked.
      outcomes: ['completed', 'completed', 'kicked', 'kicked'],
    },
    {
      name: 'with one of the two FreeSWITCH servers gone, a new call succeeds on the other',
      prepare: async (gateway) => ({ pin: await createPin(gateway, { label: 'Herr Schulz' }) }),
      jigasi: [jigasiAnswers('Herr Schulz', 3000)],
      caller: ({ pin, work }) => ({ callerNumber: nextCaller(), steps: pcapSteps(work, [`${pin}#`]), expect: 'bye' }),
      outcome: 'completed',
    },
  ];
}

/** A second FreeSWITCH beside the test bed's, answering on its event socket. */
export async function startSecondBeside(work: string): Promise<SecondFreeswitch> {
  const first = findLocalFreeswitch();
  if (!first) throw new Error('no FreeSWITCH process on this host to start a second one like it (the group needs the test bed on this machine)');
  const started = startSecond(first, work);
  for (let attempt = 0; ; attempt++) {
    try {
      await freeswitchApi('status', SECOND_FREESWITCH.eslPort);
      return started;
    } catch (error) {
      if (attempt > 100) {
        await started.kill();
        throw new Error(`the second FreeSWITCH did not answer within 20 s: ${(error as Error).message}`, { cause: error });
      }
      await sleep(200);
    }
  }
}

export function mediaGroup(): E2eGroup {
  return {
    async start(work) {
      second = await startSecondBeside(work);
      let gateway: Gateway | undefined;
      const stop = async () => {
        if (gateway) await stopGateway(gateway);
        await second?.kill();
      };
      try {
        gateway = await startGateway(work, { FREESWITCH_SERVERS: `127.0.0.1:8021,127.0.0.1:${SECOND_FREESWITCH.eslPort}` });
        // jigasiAnswers expects the room password the call cases use.
        await api(gateway, 'PUT', '/api/v1/rooms/gemeinderat', { password: '2468' });
      } catch (error) {
        await stop();
        throw error;
      }
      return { gateway, stop };
    },
    cases: cases().map((testCase) => ({ name: testCase.name, run: async (gateway, work) => runCase(gateway, work, testCase) })),
  };
}
