import type { FakeDialog } from '../fakes/drachtio';
import type { FakeEndpoint } from '../fakes/freeswitch';
import { JIGASI_1, JIGASI_2, errorsLogged, expectCleanTeardown, gatewayTimersAlive, harness, infosTo, until, type Harness } from './harness';

/**
 * Listeners of a room with listeners "shared" on one Jigasi leg (gateway/shared-listening.ts),
 * on the fakes of drachtio-srf and drachtio-fsmrf: who brings the leg up, who ends it, what each
 * listener hears when it ends or cannot be brought up, and the races of joining and leaving.
 */

const answered = { status: 200 };
const PROMPTS = '/prompts/de';

async function sharedRoom(h: Harness, room: { password?: string } = {}) {
  await h.directory.putRoom('rat', { listeners: 'shared', ...room }, 'test');
  return h.directory.createPin('rat', { role: 'listener' }, 'test');
}

/** A call typing `pin`; resolves with its caller endpoint once FreeSWITCH holds the PIN entry. */
async function dialIn(h: Harness, pin: string) {
  const before = h.media.endpoints.length;
  const { call, done } = h.invite();
  await until(() => h.media.endpoints.slice(before).some((endpoint) => endpoint.holdsEntry), 'the PIN prompt');
  const caller = h.media.endpoints.slice(before).find((endpoint) => endpoint.holdsEntry)!;
  caller.pressKeys(`${pin}#`);
  return { id: call.id, caller, done };
}

const stateOf = (h: Harness, id: string) => h.registry.list().find((call) => call.id === id)?.state;
/** The leg's own FreeSWITCH channel: made 3pcc like a call's Jigasi endpoint, but not bridge-only (it runs the conference). */
const legEndpoints = (h: Harness) => h.media.endpoints.filter((endpoint) => endpoint.remoteSdp === undefined && !endpoint.bridgeOnly);
const legDialog = (h: Harness, index = 0): FakeDialog => h.srf.invitesSent[index]!.dialog!;
const lastPlayed = (endpoint: FakeEndpoint) => endpoint.played.at(-1)?.join(' ');
const sleep = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const gauges = async (h: Harness) => {
  const text = await h.metrics.registry.metrics();
  return { listeners: /dialin_shared_listeners\{room="rat"\} (\d+)/.exec(text)?.[1], legs: /dialin_shared_legs (\d+)/.exec(text)?.[1] };
};
type Listener = Awaited<ReturnType<typeof dialIn>>;

/** A shared room whose Jigasi answers, and `count` listeners dialled in and in its conference. */
async function listenersIn(count: number) {
  const h = await harness({}, { [JIGASI_1]: [answered] });
  const pin = await sharedRoom(h);
  const listeners: Listener[] = [];
  for (let index = 0; index < count; index++) listeners.push(await dialIn(h, pin.pin));
  await allBridged(h, listeners);
  return { h, pin, listeners };
}

/** Every listener of `listeners` in the conference. */
const allBridged = async (h: Harness, listeners: Array<{ id: string }>) =>
  until(() => listeners.every((listener) => stateOf(h, listener.id) === 'bridged'), `${listeners.length} listeners in the conference`);

describe('listeners of a room whose listeners share one Jigasi leg', () => {
  it('the first listener brings up one leg, the second joins it: one INVITE with LISTENER_DISPLAY_NAME and the stored password, listeners muted in the conference', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await sharedRoom(h, { password: '2468' });
    const first = await dialIn(h, pin.pin);
    await until(() => stateOf(h, first.id) === 'bridged', 'the first listener in the conference');
    const second = await dialIn(h, pin.pin);
    await until(() => stateOf(h, second.id) === 'bridged', 'the second listener in the conference');

    expect(h.srf.invitesSent).toHaveLength(1);
    const invite = h.srf.invitesSent[0]!;
    expect(invite.options.callingName).toBe('Telefon-Zuhörer');
    expect(invite.options.headers).toMatchObject({ 'Jitsi-Conference-Room': 'rat@conference.meet.example.org', 'Jitsi-Conference-Room-Pass': '2468' });
    const [leg] = legEndpoints(h);
    expect(leg!.modified).toEqual(['v=0 jigasi-answer']);
    expect(leg!.joins).toEqual([{ conference: expect.stringMatching(/^dialin-listeners-/), options: { profile: 'dialin-listeners' } }]);
    const conference = leg!.conference!;
    expect(h.media.conferences.get(conference)).toEqual(new Set([leg, first.caller, second.caller]));
    for (const listener of [first.caller, second.caller]) {
      expect(listener.joins).toEqual([{ conference, options: { profile: 'dialin-listeners', flags: { mute: true } } }]);
      expect(listener.bridgedWith).toBeUndefined();
    }
    // The room shows the leg muted.
    expect(infosTo(legDialog(h))[0]).toMatchObject({ type: 'muteRequest', data: { audio: true } });
    expect(h.listening.views()).toEqual([expect.objectContaining({ room: 'rat', state: 'in-conference', listeners: 2 })]);
    expect(await h.metrics.registry.metrics()).toMatch(/dialin_shared_listeners\{room="rat"\} 2/);
    // The Jigasi-leg endpoints each call made while its caller typed are ended, unused.
    const unused = h.media.endpoints.filter((endpoint) => endpoint.bridgeOnly);
    expect(unused.map((endpoint) => endpoint.destroyCalls)).toEqual([1, 1]);

    first.caller.hangUpFromFreeswitch();
    h.srf.uasDialogs[0]!.receiveBye();
    second.caller.hangUpFromFreeswitch();
    h.srf.uasDialogs[1]!.receiveBye();
    await Promise.all([first.done, second.done]);
    await until(() => legDialog(h).endings === 1, 'the leg to end after the grace period');
    await until(() => leg!.endings === 1 && gatewayTimersAlive().length === 0, 'the leg torn down, and every timer of the calls and the leg ended');
    expect(h.listening.views()).toEqual([]);
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    expect(await h.metrics.registry.metrics()).toMatch(/dialin_shared_legs 0/);
    await h.close();
  });

  it('ends the leg only after the grace period; a listener who calls back within it finds the leg still there', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await sharedRoom(h);
    const first = await dialIn(h, pin.pin);
    await until(() => stateOf(h, first.id) === 'bridged', 'the first listener');
    h.srf.uasDialogs[0]!.receiveBye();
    await first.done;
    await sleep(100);
    expect(legDialog(h).endings).toBe(0);

    const again = await dialIn(h, pin.pin);
    await until(() => stateOf(h, again.id) === 'bridged', 'the listener calling back');
    await sleep(400);
    expect(h.srf.invitesSent).toHaveLength(1);
    expect(legDialog(h).endings).toBe(0);

    h.srf.uasDialogs[1]!.receiveBye();
    await again.done;
    await until(() => legDialog(h).endings === 1, 'the leg to end');
    expect(legDialog(h).byesSent).toBe(1);
    expect(await h.record(again.id)).toMatchObject({ outcome: 'completed' });
    await h.close();
  });

  it('Jigasi ends the leg (meeting over, kicked by a moderator): every listener hears that the conference has ended and is hung up', async () => {
    const { h, listeners } = await listenersIn(3);

    legDialog(h).receiveBye();
    await Promise.all(listeners.map(async (listener) => listener.done));

    for (const listener of listeners) {
      expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/conference-ended.wav ${PROMPTS}/goodbye.wav`);
      expect(await h.record(listener.id)).toMatchObject({ outcome: 'completed' });
    }
    expect(h.srf.uasDialogs.map((dialog) => dialog.byesSent)).toEqual([1, 1, 1]);
    await until(() => legEndpoints(h)[0]!.endings === 1, "the leg's channel to end");
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    expect(h.listening.views()).toEqual([]);
    await h.close();
  });

  it('a leg no Jigasi answers: listeners hear "cannot reach the conference" and are hung up; the next listener tries again', async () => {
    // The refusals take a moment, so that both listeners are waiting for the same leg however slow the machine.
    const h = await harness({}, { [JIGASI_1]: [{ status: 503, answerAfterMs: 300 }, answered], [JIGASI_2]: [{ status: 503, answerAfterMs: 300 }, answered] });
    const pin = await sharedRoom(h);
    const failed = [await dialIn(h, pin.pin), await dialIn(h, pin.pin)];
    await Promise.all(failed.map(async (listener) => listener.done));
    for (const listener of failed) {
      expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/unreachable.wav ${PROMPTS}/goodbye.wav`);
      expect(await h.record(listener.id)).toMatchObject({ outcome: 'jigasi-failed' });
      expect(listener.caller.joins).toEqual([]);
    }
    expect(h.srf.invitesSent.map((invite) => invite.outcome)).toEqual([503, 503]);

    const next = await dialIn(h, pin.pin);
    await until(() => stateOf(h, next.id) === 'bridged', 'the next listener in the conference');
    expect(h.srf.invitesSent).toHaveLength(3);
    legDialog(h, 2).receiveBye();
    await next.done;
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it('50 listeners calling at once share one INVITE to Jigasi', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, answerAfterMs: 50 }] });
    const pin = await sharedRoom(h);
    const calls = Array.from({ length: 50 }, () => h.invite());
    await until(() => h.media.endpoints.filter((endpoint) => endpoint.holdsEntry).length === 50, '50 PIN prompts', 10_000);
    for (const endpoint of h.media.endpoints.filter((candidate) => candidate.holdsEntry)) endpoint.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list().filter((call) => call.sharedLeg !== undefined && call.state === 'bridged').length === 50, '50 listeners in the conference', 10_000);

    expect(h.srf.invitesSent).toHaveLength(1);
    expect(h.media.conferences.get(legEndpoints(h)[0]!.conference!)?.size).toBe(51);
    expect(h.listening.views()).toEqual([expect.objectContaining({ listeners: 50 })]);

    legDialog(h).receiveBye();
    await Promise.all(calls.map(async (call) => call.done));
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  }, 30_000);

  it('a listener who hangs up while the leg is being brought up leaves; the others join, and the only one leaving lets the leg go', async () => {
    // The second leg's INVITE rings until it is cancelled.
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, answerAfterMs: 150 }, { status: 200, ringForever: true }] });
    const pin = await sharedRoom(h);
    const leaving = await dialIn(h, pin.pin);
    const staying = await dialIn(h, pin.pin);
    await until(() => h.srf.invitesSent.length === 1, 'the INVITE to Jigasi');
    h.srf.uasDialogs[0]!.receiveBye();
    await leaving.done;
    await until(() => stateOf(h, staying.id) === 'bridged', 'the other listener in the conference');
    expect(leaving.caller.joins).toEqual([]);
    expect(h.listening.views()).toEqual([expect.objectContaining({ listeners: 1 })]);
    expect(await h.record(leaving.id)).toMatchObject({ outcome: 'cancelled' });

    h.srf.uasDialogs[1]!.receiveBye();
    await staying.done;
    await until(() => legDialog(h).endings === 1, 'the leg to end');
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);

    // Alone, hanging up before Jigasi answered: the INVITE is cancelled, nothing is left.
    const alone = await dialIn(h, pin.pin);
    await until(() => h.srf.invitesSent.length === 2, 'a new INVITE to Jigasi');
    h.srf.uasDialogs[2]!.receiveBye();
    await alone.done;
    await until(() => h.srf.invitesSent[1]!.outcome !== undefined, 'the INVITE to be cancelled');
    const { outcome, dialog, request } = h.srf.invitesSent[1]!;
    expect({ outcome, dialog, cancelsSent: request.cancelsSent }).toEqual({ outcome: 487, dialog: undefined, cancelsSent: 1 });
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    // The cancelled INVITE is no failed Jigasi: no other one is tried.
    expect(h.srf.invitesSent).toHaveLength(2);
    expect(h.listening.views()).toEqual([]);
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it('kicking one listener ends only that caller; the leg and the others go on', async () => {
    const { h, listeners } = await listenersIn(2);
    const [kicked, other] = listeners as [Listener, Listener];
    // The deadlines of the joins end with the joins.
    expect(gatewayTimersAlive()).toEqual([]);
    expect(h.registry.hangUp(kicked.id)).toBe(true);
    await kicked.done;
    expect(await h.record(kicked.id)).toMatchObject({ outcome: 'kicked' });
    await sleep(400);
    expect(stateOf(h, other.id)).toBe('bridged');
    expect(legDialog(h).endings).toBe(0);
    expect(await gauges(h)).toEqual({ listeners: '1', legs: '1' });
    legDialog(h).receiveBye();
    await other.done;
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expect(await gauges(h)).toEqual({ listeners: '0', legs: '0' });
    await h.close();
  });

  it('lists each listener (masked) with its leg, and the leg with its count; an administrator hanging up the leg ends it for every listener', async () => {
    const { h, listeners } = await listenersIn(2);
    const legId = h.listening.views()[0]!.id;
    expect(h.registry.list()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: listeners[0]!.id, caller: '…34', role: 'listener', sharedLeg: legId, state: 'bridged' }),
        expect.objectContaining({ id: listeners[1]!.id, caller: '…34', role: 'listener', sharedLeg: legId, state: 'bridged' }),
        expect.objectContaining({ id: legId, label: 'Telefon-Zuhörer', role: 'listener', room: 'rat', listeners: 2, muted: true, state: 'bridged' }),
      ]),
    );
    expect(await h.registry.setMuted(legId, false)).toBe('listener');
    // An operator finds the leg's story in the log by the id the API shows.
    expect(h.logs.text).toMatch(new RegExp(`"sharedLeg":"${legId}".*"msg":"the shared leg is in the conference"`));

    expect(h.registry.hangUp(legId)).toBe(true);
    await Promise.all(listeners.map(async (listener) => listener.done));
    for (const listener of listeners) expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/conference-ended.wav ${PROMPTS}/goodbye.wav`);
    expect(legDialog(h).byesSent).toBe(1);
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it("a listener whose own Jigasi-side endpoint failed while typing still listens: that endpoint is not needed", async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await sharedRoom(h);
    // The caller's endpoint, then the Jigasi-side one made while the caller types, and its second try.
    h.media.createFailures = [undefined, new Error('Connection timeout'), new Error('Connection timeout')];
    const { call, done } = h.invite();
    await until(() => h.media.endpoints[0]?.holdsEntry === true, 'the PIN prompt');
    await until(() => /the Jigasi leg's endpoint failed; making it once more/.test(h.logs.text), 'the first failure');
    // The second try fails a few ticks later; only then the PIN, so that the leg's endpoint is the next one made.
    await sleep(50);
    h.media.endpoints[0]!.pressKeys(`${pin.pin}#`);
    const listener = { id: call.id, done };
    await until(() => stateOf(h, listener.id) === 'bridged', 'the listener in the conference');
    legDialog(h).receiveBye();
    await listener.done;
    expect(await h.record(listener.id)).toMatchObject({ outcome: 'completed' });
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it('speaks for its listeners to Jigasi: every INFO answered, heartbeat echoed, the lobby heard by every listener, a rejection ends them all', async () => {
    const { h, listeners } = await listenersIn(2);
    const jigasi = legDialog(h);

    expect((await jigasi.receiveInfo('application/json', '{"i":0,"t":11}')).finalStatus).toBe(200);
    await until(() => infosTo(jigasi).some((info) => info.type === undefined && JSON.stringify(info).includes('"t":11')), 'the heartbeat echoed');
    expect((await jigasi.receiveInfo('application/json', '{"i":1,"t":3}')).finalStatus).toBe(200);
    await until(() => listeners.every((listener) => listener.caller.displaced.includes(`${PROMPTS}/lobby-waiting.wav`)), 'the lobby prompt for every listener');
    // A moderator cannot unmute the leg.
    await jigasi.receiveInfo('application/json', JSON.stringify({ type: 'muteRequest', id: 'm1', data: { audio: false } }));
    await until(() => infosTo(jigasi).some((info) => info.type === 'muteResponse'), 'the answer to the moderator');
    expect(infosTo(jigasi).find((info) => info.type === 'muteResponse')).toMatchObject({ id: 'm1', status: 'FAILED' });

    await jigasi.receiveInfo('application/json', '{"i":2,"t":6}');
    await until(() => listeners.every((listener) => listener.caller.displaced.includes(`${PROMPTS}/lobby-admitted.wav`)), 'the admission for every listener');
    await jigasi.receiveInfo('application/json', '{"i":3,"t":7}');
    await Promise.all(listeners.map(async (listener) => listener.done));
    for (const listener of listeners) expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/lobby-rejected.wav ${PROMPTS}/goodbye.wav`);
    await until(() => jigasi.endings === 1 && gatewayTimersAlive().length === 0, 'the leg torn down, and every timer (the lobby reminder too) ended');
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it('a speaker PIN of the same room keeps a leg of its own; *6 tells a listener the line is listen-only', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered], [JIGASI_2]: [answered] });
    const pin = await sharedRoom(h);
    const speakerPin = await h.directory.createPin('rat', {}, 'test');
    const listener = await dialIn(h, pin.pin);
    const speaker = await dialIn(h, speakerPin.pin);
    await until(() => [listener, speaker].every((call) => stateOf(h, call.id) === 'bridged'), 'both in the conference');
    // The shared leg holds one Jigasi, so the speaker's leg goes to the other, less busy one.
    expect(h.srf.invitesSent.map((invite) => [invite.uri, invite.options.callingName])).toEqual([
      [JIGASI_1, 'Telefon-Zuhörer'],
      [JIGASI_2, 'Telefon ...34'],
    ]);
    expect(speaker.caller.bridgedWith).toBeDefined();
    expect(speaker.caller.joins).toEqual([]);

    // A 6 more than 3 s after the star is no command.
    const starAt = Date.now();
    h.now = () => starAt;
    listener.caller.pressKeys('*');
    h.now = () => starAt + 3_001;
    listener.caller.pressKeys('6');
    listener.caller.pressKeys('*6');
    await until(() => listener.caller.displaced.includes(`${PROMPTS}/listen-only.wav`), 'the listen-only prompt');
    listener.caller.pressKeys('*1');
    await until(() => listener.caller.displaced.includes(`${PROMPTS}/help.wav`), 'the help prompt');
    expect(listener.caller.displaced).toEqual([`${PROMPTS}/listen-only.wav`, `${PROMPTS}/help.wav`]);
    expect(listener.caller.mutedInConference).toBe(true);

    // Keys during the farewell are no commands any more.
    legDialog(h, 0).receiveBye();
    await until(() => listener.caller.played.flat().includes(`${PROMPTS}/conference-ended.wav`), 'the farewell');
    listener.caller.pressKeys('*1');
    await listener.done;
    expect(listener.caller.displaced).toEqual([`${PROMPTS}/listen-only.wav`, `${PROMPTS}/help.wav`]);
    legDialog(h, 1).receiveBye();
    await speaker.done;
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it('a locked room Jigasi cannot join (486, the stored password missing or wrong): the listeners hear the conference cannot be reached', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 486 }], [JIGASI_2]: [{ status: 486 }] });
    const pin = await sharedRoom(h, { password: '2468' });
    const listener = await dialIn(h, pin.pin);
    await listener.done;
    expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/unreachable.wav ${PROMPTS}/goodbye.wav`);
    expect(h.srf.invitesSent.map((invite) => invite.options.headers['Jitsi-Conference-Room-Pass'])).toEqual(['2468', '2468']);
    expect(h.logs.text).not.toContain('2468');
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it('answers 200 to INFO from Jigasi it cannot read, and to mute responses, and goes on', async () => {
    const { h, listeners } = await listenersIn(1);
    const listener = listeners[0]!;
    const jigasi = legDialog(h);
    const sentBefore = jigasi.requests.length;
    for (const [type, body] of [
      ['application/json', 'not json'],
      ['text/plain', 'hello'],
      ['application/json', JSON.stringify({ type: 'muteResponse', id: 'x', status: 'OK', data: { audio: true } })],
    ]) {
      expect((await jigasi.receiveInfo(type!, body!)).finalStatus).toBe(200);
    }
    await sleep(50);
    expect(jigasi.requests).toHaveLength(sentBefore);
    expect(stateOf(h, listener.id)).toBe('bridged');
    jigasi.receiveBye();
    await listener.done;
    expect(await h.record(listener.id)).toMatchObject({ outcome: 'completed' });
    await h.close();
  });

  it("FreeSWITCH drops the leg's channel: every listener hears the conference has ended, Jigasi gets its BYE", async () => {
    const { h, listeners } = await listenersIn(2);
    legEndpoints(h)[0]!.hangUpFromFreeswitch();
    await Promise.all(listeners.map(async (listener) => listener.done));
    for (const listener of listeners) expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/conference-ended.wav ${PROMPTS}/goodbye.wav`);
    await until(() => legDialog(h).byesSent === 1, 'the BYE to Jigasi');
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    expect(await gauges(h)).toEqual({ listeners: '0', legs: '0' });
    await h.close();
  });

  it("Jigasi's BYE and FreeSWITCH's end of the leg's channel at once: the leg ends once", async () => {
    const { h, listeners } = await listenersIn(1);
    const listener = listeners[0]!;
    legDialog(h).receiveBye();
    legEndpoints(h)[0]!.hangUpFromFreeswitch();
    await listener.done;
    expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/conference-ended.wav ${PROMPTS}/goodbye.wav`);
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expect(await gauges(h)).toEqual({ listeners: '0', legs: '0' });
    expect(h.logs.lines.filter((line) => line.includes('"msg":"the shared leg ended"'))).toHaveLength(1);
    // Our teardown crossed FreeSWITCH's hang-up of the channel: it ended from both sides, as on the wire.
    expect(legEndpoints(h)[0]!.endings).toBe(2);
    await h.close();
  });

  it("the only listener leaves while Jigasi rings, and Jigasi's 200 crosses the CANCEL: the late dialog gets its BYE, no other Jigasi is tried", async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, ringForever: true, answerCrossesCancel: true }], [JIGASI_2]: [answered] });
    const pin = await sharedRoom(h);
    const alone = await dialIn(h, pin.pin);
    await until(() => h.srf.invitesSent.length === 1, 'the INVITE to Jigasi');
    h.srf.uasDialogs[0]!.receiveBye();
    await alone.done;
    await until(() => h.srf.invitesSent[0]!.dialog?.byesSent === 1, "the BYE for Jigasi's late answer");
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expect(h.srf.invitesSent).toHaveLength(1);
    expect(errorsLogged(h)).toEqual([]);
    expectCleanTeardown(h);
    expect(await gauges(h)).toEqual({ listeners: '0', legs: '0' });
    await h.close();
  });

  it('an administrator hangs up the leg while Jigasi still rings: its listeners hear the conference has ended', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, ringForever: true }] });
    const pin = await sharedRoom(h);
    const listeners = [await dialIn(h, pin.pin), await dialIn(h, pin.pin)];
    await until(() => h.srf.invitesSent.length === 1 && h.listening.views()[0]?.listeners === 2, 'two listeners waiting for the leg');
    const legId = h.listening.views()[0]!.id;
    expect(h.registry.list().find((call) => call.id === legId)).toMatchObject({ state: 'connecting' });
    expect(h.listening.views()).toEqual([expect.objectContaining({ state: 'connecting', listeners: 2 })]);
    expect(h.registry.hangUp(legId)).toBe(true);
    await Promise.all(listeners.map(async (listener) => listener.done));
    for (const listener of listeners) {
      expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/conference-ended.wav ${PROMPTS}/goodbye.wav`);
      expect(await h.record(listener.id)).toMatchObject({ outcome: 'completed' });
      expect(listener.caller.joins).toEqual([]);
    }
    expect(h.srf.invitesSent[0]!.request.cancelsSent).toBe(1);
    expect(errorsLogged(h)).toEqual([]);
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it("is listed as ending while its teardown waits for Jigasi's answer to the BYE", async () => {
    const { h, listeners } = await listenersIn(1);
    const listener = listeners[0]!;
    const legId = h.listening.views()[0]!.id;
    legDialog(h).byeAnsweredAfterMs = 200;
    h.registry.hangUp(legId);
    await until(() => legDialog(h).byesSent === 1, 'the BYE to Jigasi');
    expect(h.registry.list().find((call) => call.id === legId)).toMatchObject({ state: 'ending' });
    await listener.done;
    await until(() => h.registry.size === 0, 'the leg to leave the registry');
    expectCleanTeardown(h);
    await h.close();
  });

  it('a FreeSWITCH that never reports the leg in its conference: after the deadline listeners hear "cannot reach the conference"', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, answerAfterMs: 50 }] });
    const pin = await sharedRoom(h);
    const listener = await dialIn(h, pin.pin);
    await until(() => legEndpoints(h).length === 1, "the leg's endpoint");
    legEndpoints(h)[0]!.refuse('conference');
    await listener.done;
    expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/unreachable.wav ${PROMPTS}/goodbye.wav`);
    expect(await h.record(listener.id)).toMatchObject({ outcome: 'jigasi-failed' });
    expect(legDialog(h).byesSent).toBe(1);
    expect(h.logs.text).toMatch(/the shared leg joining its conference took longer than 500 ms/);
    await until(() => h.registry.size === 0 && gatewayTimersAlive().length === 0, 'the leg torn down, its deadline cleared');
    expectCleanTeardown(h);
    await h.close();
  });

  it('a listener FreeSWITCH never reports in the conference ends after the deadline; the leg stays for the others', async () => {
    const { h, pin, listeners } = await listenersIn(1);
    const first = listeners[0]!;
    const before = h.media.endpoints.length;
    const { call, done } = h.invite();
    await until(() => h.media.endpoints.slice(before).some((endpoint) => endpoint.holdsEntry), 'the PIN prompt');
    const stuck = h.media.endpoints.slice(before).find((endpoint) => endpoint.holdsEntry)!;
    stuck.refuse('conference');
    stuck.pressKeys(`${pin.pin}#`);
    await done;
    expect(await h.record(call.id)).toMatchObject({ outcome: 'media-failed' });
    expect(stateOf(h, first.id)).toBe('bridged');
    expect(h.listening.views()).toEqual([expect.objectContaining({ listeners: 1 })]);
    legDialog(h).receiveBye();
    await first.done;
    await until(() => h.registry.size === 0 && gatewayTimersAlive().length === 0, 'everything ended');
    await h.close();
  });

  it('after the drain time, every listener hears that the service is ending, and the leg ends for maintenance with them', async () => {
    const { h, listeners } = await listenersIn(2);
    await h.registry.endForMaintenance(5_000);
    expect(h.registry.size).toBe(0);
    for (const listener of listeners) {
      expect(lastPlayed(listener.caller)).toBe(`${PROMPTS}/service-ending.wav ${PROMPTS}/goodbye.wav`);
      expect(await h.record(listener.id)).toMatchObject({ outcome: 'service-stopped' });
    }
    expect(legDialog(h).byesSent).toBe(1);
    expect(h.logs.text).toMatch(/"reason":"maintenance".*"msg":"the shared leg ended"/);
    expectCleanTeardown(h);
    await h.close();
  });

  it('the service stops: every listener and the leg are hung up before it returns', async () => {
    const { h, listeners } = await listenersIn(2);
    await h.registry.endAll(5_000);
    expect(h.registry.size).toBe(0);
    expect(legDialog(h).byesSent).toBe(1);
    expect(h.srf.uasDialogs.map((dialog) => dialog.byesSent)).toEqual([1, 1]);
    for (const listener of listeners) expect(await h.record(listener.id)).toMatchObject({ outcome: 'service-stopped' });
    expectCleanTeardown(h);
    await h.close();
  });
});
