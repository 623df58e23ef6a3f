import { muteResponseBody } from '../../gateway/jigasi-info';
import { CALLER, JIGASI_1, JIGASI_2, errorsLogged, expectCleanTeardown, gatewayTimersAlive, harness, inConference, infosTo, until, type Harness, type InConference } from './harness';

/**
 * Races between a caller, Jigasi and FreeSWITCH that can leave work running after the caller is
 * gone (issue: one caller can stop every call). After each: no rejection went unhandled (in the
 * service it would reach the process), every dialog and endpoint ended exactly once, the call
 * left the registry with its record finished, and nothing the call started acts any more.
 */

const sleep = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the call does to the outside world; it must stand still once the call has ended. */
function activity(c: InConference): string {
  const endpoints = c.h.media.endpoints.map((endpoint) => `${endpoint.commands.length}/${endpoint.played.length}`);
  return `${endpoints.join(',')} jigasi:${c.jigasi.requests.length} logs:${c.h.logs.lines.length}`;
}

async function expectEndedForGood(c: InConference, outcome: string, quietMs: number): Promise<void> {
  await c.done;
  const atEnd = activity(c);
  await sleep(quietMs);
  expect(activity(c)).toBe(atEnd);
  expectCleanTeardown(c.h);
  expect(gatewayTimersAlive()).toEqual([]);
  expect(await c.h.record(c.callId)).toMatchObject({ outcome, endedAt: expect.any(Number) });
  expect(errorsLogged(c.h)).toEqual([]);
  await c.h.close();
}

const byeFromCaller = (c: InConference) => c.h.srf.uasDialogs[0]!.receiveBye();

describe('the caller hangs up while the conference controls are busy', () => {
  it('*6, *6 again with Jigasi silent, then hang-up: the unmute never touches the gone channel', async () => {
    const c = await inConference(undefined, undefined, { muteResponseMs: 80 });
    c.caller.pressKeys('*6');
    await until(() => c.caller.readMuted && infosTo(c.jigasi).length === 1, 'the mute');
    c.caller.pressKeys('*6');
    await until(() => infosTo(c.jigasi).length === 2, 'the unmute request nobody answers');
    await sleep(20);
    byeFromCaller(c);

    await expectEndedForGood(c, 'completed', 200);
    expect(c.caller.commands.filter((command) => command.name === 'uuid_audio')).toHaveLength(1);
  });

  it('*6 as the caller\'s BYE arrives: the mute on the dying channel goes nowhere', async () => {
    const c = await inConference();
    c.caller.pressKeys('*6');
    byeFromCaller(c);

    await expectEndedForGood(c, 'completed', 50);
    expect(infosTo(c.jigasi)).toEqual([]);
  });

  it('a moderator mutes a caller whose channel FreeSWITCH has just destroyed', async () => {
    const c = await inConference();
    c.caller.hangUpFromFreeswitch();
    const answer = await c.jigasi.receiveInfo('application/json', '{"type":"muteRequest","data":{"audio":true},"id":"mod-7"}');

    expect(answer.finalStatus).toBe(200);
    await expectEndedForGood(c, 'completed', 50);
  });

  it('the lobby reminder does not fire after the end', async () => {
    const c = await inConference(undefined, undefined, { lobbyRepeatMs: 15 });
    await c.jigasi.receiveInfo('application/json', '{"i":0,"t":3}');
    await until(() => c.caller.displaced.length >= 2, 'the lobby prompt and a reminder');
    byeFromCaller(c);

    await expectEndedForGood(c, 'completed', 100);
  });

  it('the room-password prompt is interrupted by the hang-up: no further INVITE, nothing bridged', async () => {
    // Jigasi would take a second INVITE: one sent after the hang-up would be bridged.
    const h = await harness({}, { [JIGASI_1]: [{ status: 486 }, { status: 200 }], [JIGASI_2]: [{ status: 486 }] });
    const pin = await h.directory.createPin('rat', {}, 'test');
    const { call, done } = h.invite();
    await until(() => h.srf.uasDialogs.length > 0, 'the answer');
    const caller = h.media.endpoints[0]!;
    caller.pressKeys(`${pin.pin}#`);
    await until(() => caller.collects.length === 2, 'the password prompt');
    caller.pressKeys('97');
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.srf.invitesSent).toHaveLength(2);
    expect(caller.commands.filter((command) => command.name === 'uuid_bridge')).toHaveLength(0);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'cancelled' });
    expectCleanTeardown(h);
    expect(gatewayTimersAlive()).toEqual([]);
    await h.close();
  });

  it('100 *6 in one second: one toggle at a time, and what FreeSWITCH does is what the API shows', async () => {
    const c = await inConference();
    const answered = new Map<string, Promise<unknown>>();
    const answerJigasi = setInterval(() => {
      for (const message of infosTo(c.jigasi)) {
        if (message.type !== 'muteRequest' || answered.has(message.id)) continue;
        answered.set(message.id, c.jigasi.receiveInfo('application/json', muteResponseBody(message.id, (message.data as { audio: boolean }).audio, true)));
      }
    }, 1);
    for (let press = 0; press < 100; press++) {
      c.caller.pressKeys('*6');
      await sleep(10);
    }
    await sleep(50);
    clearInterval(answerJigasi);
    await Promise.all(answered.values());

    const toggles = c.caller.commands.filter((command) => command.name === 'uuid_audio').length;
    expect(toggles).toBeGreaterThan(1);
    expect(toggles).toBeLessThanOrEqual(100);
    expect(c.h.registry.list()[0]!.muted).toBe(c.caller.readMuted);
    expect(c.caller.displaced).toHaveLength(toggles);
    byeFromCaller(c);
    await expectEndedForGood(c, 'completed', 50);
  });

  it('100 *6 at the same instant toggle once, then the caller hangs up', async () => {
    const c = await inConference();
    for (let press = 0; press < 100; press++) c.caller.pressKeys('*6');
    await until(() => c.caller.displaced.length === 1, 'the "muted" prompt');
    await sleep(20);

    expect(c.caller.commands.filter((command) => command.name === 'uuid_audio')).toHaveLength(1);
    expect(infosTo(c.jigasi)).toHaveLength(1);
    byeFromCaller(c);
    await expectEndedForGood(c, 'completed', 50);
  });

  it('an error in one call (FreeSWITCH refusing the bridge once the caller typed the room password) ends that call only, logged and counted', async () => {
    const other = await inConference();
    const h = await harness({}, { [JIGASI_1]: [{ status: 486 }, { status: 200 }], [JIGASI_2]: [{ status: 486 }] });
    const pin = await h.directory.createPin('rat', {}, 'test');
    const { call, done } = h.invite();
    await until(() => h.srf.uasDialogs.length > 0, 'the answer');
    const caller = h.media.endpoints[0]!;
    caller.refuse('uuid_bridge', '-ERR bridge refused');
    caller.pressKeys(`${pin.pin}#`);
    await until(() => caller.collects.length === 2, 'the password prompt');
    caller.pressKeys('1234#');
    await done;
    expect(h.logs.text).toMatch(/"msg":"call failed"/);
    expect(await h.metrics.registry.metrics()).toMatch(/dialin_unexpected_errors_total\{boundary="call"\} 1/);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'media-failed' });
    expectCleanTeardown(h);
    await h.close();
    expect(other.h.registry.list()[0]?.state).toBe('bridged');
    byeFromCaller(other);
    await expectEndedForGood(other, 'completed', 10);
  });
});

describe('FreeSWITCH or a far end that never answers', () => {
  async function bridgedCalls(h: Harness, count: number): Promise<Array<{ id: string; done: Promise<void> }>> {
    const pin = await h.directory.createPin('rat', {}, 'test');
    const calls = [];
    for (let index = 0; index < count; index++) {
      const { call, done } = h.invite({ from: `<sip:${CALLER.replace(/ /g, '')}${index}@trunk.example.org>;tag=${index}` });
      await until(() => h.srf.uasDialogs.length === index + 1, 'the answer');
      h.media.endpoints.find((endpoint) => endpoint.holdsEntry)!.pressKeys(`${pin.pin}#`);
      await until(() => h.registry.list().filter((view) => view.state === 'bridged').length === index + 1, 'the bridge');
      calls.push({ id: call.id, done });
    }
    return calls;
  }

  it('FreeSWITCH killed with 5 calls bridged: every call leaves the registry with its outcome, channel ends reported in any order', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200 }] });
    const calls = await bridgedCalls(h, 5);
    const [callerLegs, jigasiLegs] = [h.media.endpoints.filter((endpoint) => !endpoint.bridgeOnly), h.media.endpoints.filter((endpoint) => endpoint.bridgeOnly)];
    // The Jigasi legs' connections drop a moment later: teardown has already asked them to hang up.
    for (const endpoint of jigasiLegs) endpoint.byeWithheld = true;
    for (const endpoint of callerLegs) endpoint.freeswitchDies();
    await sleep(5);
    for (const endpoint of jigasiLegs) endpoint.freeswitchDies();

    await Promise.all(calls.map(async ({ done }) => done));
    expect(h.registry.size).toBe(0);
    for (const { id } of calls) expect(await h.record(id)).toMatchObject({ outcome: 'completed', endedAt: expect.any(Number) });
    expectCleanTeardown(h);
    await h.close();
  });

  it('an endpoint whose BYE never comes and a Jigasi that never answers our BYE: teardown goes on after its deadline', async () => {
    const c = await inConference();
    c.jigasi.byeAnsweredAfterMs = 60_000;
    for (const endpoint of c.h.media.endpoints) endpoint.byeWithheld = true;
    const started = Date.now();
    byeFromCaller(c);

    await c.done;
    expect(Date.now() - started).toBeLessThan(c.h.timing.destroyWithinMs + 500);
    expect(c.h.registry.size).toBe(0);
    expect(c.h.logs.text).toMatch(/no answer from the far end; going on without it/);
    expect(await c.h.record(c.callId)).toMatchObject({ outcome: 'completed' });
    await c.h.close();
  });
});
