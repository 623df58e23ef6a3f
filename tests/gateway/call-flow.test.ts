import type { TrunkConfig } from '../../core/config';
import type { UacScript } from '../fakes/drachtio';
import type { FakeEndpoint } from '../fakes/freeswitch';
import { CALLER, JIGASI_1, JIGASI_2, errorsLogged, expectCleanTeardown, harness, inConference, until, type Harness } from './harness';
import { INFO_DIGITS_PER_SECOND } from '../../gateway/call';

/** What a caller experiences (SPEC §4), against fakes shaped like drachtio-srf and drachtio-fsmrf. */

const answered = { status: 200 };
const playedIds = (endpoint: FakeEndpoint) => endpoint.played.flat().join(' ');

/** The answered caller's endpoint once the PIN prompt holds it: keys pressed earlier would be lost. */
async function callerEndpoint(h: Harness): Promise<FakeEndpoint> {
  await until(() => h.srf.uasDialogs.length > 0 && h.media.endpoints[0]?.holdsEntry === true, 'the call to be answered and the PIN prompt');
  return h.media.endpoints[0]!;
}

/** Made while the caller types, so it may appear some ticks after the caller's endpoint. */
async function jigasiSideEndpoint(h: Harness): Promise<FakeEndpoint> {
  await until(() => h.media.endpoints.length > 1, "the Jigasi leg's endpoint");
  return h.media.endpoints[1]!;
}

/** The PIN with its last digit wrong (another digit, whatever the last one is). */
function mistyped(pin: string): string {
  return `${pin.slice(0, -1)}${(Number(pin.at(-1)) + 1) % 10}`;
}

async function roomWithPin(h: Harness, options: { label?: string; password?: string; validFrom?: number; role?: 'listener' } = {}) {
  if (options.password) await h.directory.putRoom('gemeinderat', { password: options.password }, 'test');
  return h.directory.createPin('gemeinderat', { label: options.label, validFrom: options.validFrom, role: options.role }, 'test');
}

describe('a caller with a valid PIN', () => {
  it('is answered, hears the greeting, types the PIN and is bridged into the room through Jigasi', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h, { label: 'Frau Meyer', password: '2468' });
    const { call, res, done } = h.invite();
    const caller = await callerEndpoint(h);
    expect(res.finalStatus).toBe(200);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');

    expect(caller.collects[0]!.file).toBe('file_string:///prompts/de/greeting.wav!/prompts/de/enter-pin.wav');
    const [invite] = h.srf.invitesSent;
    expect(invite!.uri).toBe(JIGASI_1);
    expect(invite!.options.headers).toEqual({ Contact: '<sip:dialin@localhost>', 'Jitsi-Conference-Room': 'gemeinderat@conference.meet.example.org', 'Jitsi-Conference-Room-Pass': '2468' });
    expect(invite!.options.callingName).toBe('Frau Meyer');
    const jigasiLeg = h.media.endpoints[1]!;
    expect(invite!.options.localSdp).toBe(jigasiLeg.sdpAtCreation);
    expect(jigasiLeg.modified).toEqual([invite!.dialog!.remote.sdp]);
    expect(caller.bridgedWith).toBe(jigasiLeg);
    expect([caller.bridgeOnly, jigasiLeg.bridgeOnly]).toEqual([false, true]);
    expect(h.registry.list()).toEqual([expect.objectContaining({ id: call.id, state: 'bridged', room: 'gemeinderat', pinId: pin.id, role: 'speaker', caller: '…34' })]);
    expect((await h.store.getPin(pin.id))?.lastUsedAt).toEqual(expect.any(Number));

    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expect(invite!.dialog!.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ direction: 'in', outcome: 'completed', room: 'gemeinderat', pinId: pin.id, caller: '…34', endedAt: expect.any(Number) });
    expect(h.logs.text).not.toContain(pin.pin);
    expect(h.logs.text).not.toContain('555134');
    expect(h.logs.text).not.toContain('2468');
    const metrics = await h.metrics.registry.metrics();
    expect(metrics).toMatch(/dialin_calls_ended_total\{outcome="completed"\} 1/);
    expect(metrics).toMatch(/dialin_calls_active 0/);
    expect(metrics).toMatch(/dialin_pin_to_jigasi_invite_seconds_count 1/);
    // In seconds, as its name says: on the fakes the INVITE leaves well within a second of the #.
    expect(metrics).toMatch(/dialin_pin_to_jigasi_invite_seconds_bucket\{le="1"\} 1/);
    await h.close();
  });

  it("is recorded with the start and end the gateway's clock gives, and the log says how long the call took", async () => {
    const h = await harness({ PIN_ATTEMPTS: '1' });
    const start = Date.UTC(2026, 10, 30, 18, 0, 0);
    h.now = () => start;
    const { call, done } = h.invite();
    await callerEndpoint(h);
    h.now = () => start + 95_000;
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expect(await h.record(call.id)).toMatchObject({ startedAt: start, endedAt: start + 95_000 });
    expect(h.logs.text).toMatch(/"seconds":95,"msg":"call ended"/);
    await h.close();
  });

  it('who types the moment the 200 OK arrives loses no key: FreeSWITCH already holds the entry', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const { call, res, done } = h.invite();
    let entryHeldAt200 = false;
    res.onFinalResponse = () => {
      entryHeldAt200 = h.media.endpoints[0]!.holdsEntry;
      h.media.endpoints[0]!.pressKeys(`${pin.pin}#`);
    };
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(entryHeldAt200).toBe(true);
    expect(h.media.endpoints[0]!.collects).toHaveLength(1);
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expect(await h.record(call.id)).toMatchObject({ outcome: 'completed', pinId: pin.id });
    await h.close();
  });

  it('never sends the raw number to Jitsi: a label-less PIN shows the masked caller', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const { done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    const invite = h.srf.invitesSent[0]!;
    expect(invite.options.callingName).toBe('Telefon ...34');
    expect(JSON.stringify(invite.options)).not.toContain('555134');
    expect(invite.options.headers).not.toHaveProperty('Jitsi-Conference-Room-Pass');
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    await h.close();
  });

  it('hears "the conference has ended" and is hung up when Jigasi leaves', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    h.srf.invitesSent[0]!.dialog!.receiveBye();
    await done;
    expect(playedIds(caller)).toMatch(/conference-ended\.wav.*goodbye\.wav/);
    expect(h.srf.uasDialogs[0]!.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'completed' });
    await h.close();
  });

  it('may type the PIN during the greeting (type-ahead) and by SIP INFO', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const { done } = h.invite();
    await until(() => h.srf.uasDialogs.length > 0, 'answer');
    const dialog = h.srf.uasDialogs[0]!;
    for (const key of `${pin.pin}#`) {
      const response = await dialog.receiveInfo('application/dtmf-relay', `Signal=${key}\r\nDuration=160\r\n`);
      expect(response).toMatchObject({ finalStatus: 200, answeredByApp: true });
    }
    const caller = h.media.endpoints[0]!;
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(caller.collects).toHaveLength(1);
    dialog.receiveBye();
    await done;
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('a SIP INFO digit FreeSWITCH refuses', () => {
  it('is logged as a warning and the call goes on: the keypad still works', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const { done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.refuse('uuid_recv_dtmf');
    const response = await h.srf.uasDialogs[0]!.receiveInfo('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n');
    expect(response).toMatchObject({ finalStatus: 200 });
    await until(() => h.logs.lines.some((line) => /"level":40.*FreeSWITCH did not take a SIP INFO digit/.test(line)), 'the warning');
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expect(await h.metrics.registry.metrics()).not.toMatch(/dialin_unexpected_errors_total\{/);
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('a caller without a valid PIN', () => {
  it('gets PIN_ATTEMPTS tries, each wrong one prompted, then goodbye; every wrong PIN counts', async () => {
    const h = await harness({ PIN_ATTEMPTS: '3', PIN_FAILURES_PER_HOUR: '3' });
    await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    for (let attempt = 0; attempt < 3; attempt++) {
      await until(() => caller.collects.length > attempt, `attempt ${attempt + 1}`);
      caller.pressKeys('97531864#');
    }
    await done;
    expect(caller.collects.map((collect) => collect.file)).toEqual([
      'file_string:///prompts/de/greeting.wav!/prompts/de/enter-pin.wav',
      'file_string:///prompts/de/invalid-pin.wav!/prompts/de/enter-pin.wav',
      'file_string:///prompts/de/invalid-pin.wav!/prompts/de/enter-pin.wav',
    ]);
    expect(playedIds(caller)).toMatch(/attempts-exhausted\.wav.*goodbye\.wav/);
    expect(await h.resolver.isLockedOut(CALLER)).toBe(true);
    expect(h.srf.invitesSent).toEqual([]);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'pin-failed', room: null, pinId: null });
    expect(h.logs.text).not.toContain('97531864');
    await h.close();
  });

  it('is locked out after PIN_FAILURES_PER_HOUR wrong PINs: told the service is unavailable, no PIN checked', async () => {
    const h = await harness({ PIN_FAILURES_PER_HOUR: '3' });
    for (let i = 0; i < 3; i++) await h.resolver.recordFailure(CALLER);
    const { call, done } = h.invite();
    await done;
    const caller = h.media.endpoints[0]!;
    expect(caller.collects).toEqual([]);
    expect(playedIds(caller)).toMatch(/service-unavailable\.wav.*goodbye\.wav/);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'locked-out' });
    await h.close();
  });

  it('hears "not open now" for a PIN outside its validity, which is not a wrong PIN', async () => {
    const h = await harness();
    const pin = await roomWithPin(h, { validFrom: Date.now() + 3_600_000 });
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await done;
    expect(playedIds(caller)).toMatch(/not-open\.wav.*goodbye\.wav/);
    expect(h.srf.invitesSent).toEqual([]);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'not-open' });
    await h.close();
  });

  it('is locked out in the middle of a call once the wrong PINs reach PIN_FAILURES_PER_HOUR', async () => {
    const h = await harness({ PIN_FAILURES_PER_HOUR: '2', PIN_ATTEMPTS: '3' });
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys('97531864#');
    await until(() => caller.collects.length === 2, 'the second try');
    caller.pressKeys('97531865#');
    await done;
    expect(caller.collects).toHaveLength(2);
    expect(playedIds(caller)).toMatch(/service-unavailable\.wav.*goodbye\.wav$/);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'locked-out' });
    expectCleanTeardown(h);
    await h.close();
  });

  it('who hangs up after a wrong PIN is recorded as pin-failed, not as a caller who typed nothing', async () => {
    const h = await harness();
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys('97531864#');
    await until(() => caller.collects.length === 2, 'the second try');
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expect(await h.record(call.id)).toMatchObject({ outcome: 'pin-failed' });
    expectCleanTeardown(h);
    await h.close();
  });

  it('who types nothing is prompted again, then hung up as answered-no-pin, without a failure counted', async () => {
    const h = await harness({ PIN_FAILURES_PER_HOUR: '1' });
    const { call, done } = h.invite();
    await done;
    const caller = h.media.endpoints[0]!;
    expect(caller.collects.map((collect) => collect.file.includes('no-input'))).toEqual([false, true, true]);
    expect(await h.resolver.isLockedOut(CALLER)).toBe(false);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'answered-no-pin' });
    await h.close();
  });

  it.each([
    // More digits than a PIN has, or no digit: a malformed entry, answered "invalid".
    ['40 digits', '1234567890123456789012345678901234567890#', 'invalid-pin', 'pin-failed'],
    ['only *', '***#', 'invalid-pin', 'pin-failed'],
    // Nothing but "#": no entry at all, answered "no input".
    ['only #', '#', 'no-input', 'answered-no-pin'],
  ])('who types %s uses an attempt but is not counted as guessing, and nothing spills over', async (_name, keys, retryPrompt, outcome) => {
    const h = await harness({ PIN_FAILURES_PER_HOUR: '1', PIN_ATTEMPTS: '2' });
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(keys);
    await until(() => caller.collects.length === 2, 'the second attempt');
    expect(caller.collects[1]!.file).toBe(`file_string:///prompts/de/${retryPrompt}.wav!/prompts/de/enter-pin.wav`);
    expect(caller.queuedKeys).toBe('');
    expect(caller.commands.filter((command) => command.name === 'uuid_flush_dtmf').length).toBeGreaterThanOrEqual(1);
    await done;
    expect(await h.resolver.isLockedOut(CALLER)).toBe(false);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome });
    await h.close();
  });

  it('survives a flood of 10,000 SIP INFO digits within a second: each is answered, a human rate of them reaches FreeSWITCH', async () => {
    const h = await harness({ PIN_ATTEMPTS: '1' });
    const { done } = h.invite();
    const caller = await callerEndpoint(h);
    const dialog = h.srf.uasDialogs[0]!;
    const floodAt = Date.now();
    h.now = () => floodAt;
    const responses = await Promise.all(Array.from({ length: 10_000 }, async (_, i) => dialog.receiveInfo('application/dtmf-relay', `Signal=${i % 10}\r\nDuration=100`)));
    expect(responses.every((response) => response.finalStatus === 200)).toBe(true);
    expect(caller.commands.filter((command) => command.name === 'uuid_recv_dtmf')).toHaveLength(INFO_DIGITS_PER_SECOND);
    await done;
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('an administrator and a caller still typing the PIN', () => {
  it('sees the call as incoming, in PIN entry, with no room and not muted; a mute is refused as not in the conference', async () => {
    const h = await harness();
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    expect(h.registry.list()).toEqual([expect.objectContaining({ id: call.id, direction: 'in', state: 'collecting', room: null, muted: false, caller: '…34' })]);
    expect(await h.registry.setMuted(call.id, true)).toBe('not-in-conference');
    expect(caller.commands.filter((command) => command.name === 'uuid_audio')).toEqual([]);
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('the pace of SIP INFO digits', () => {
  const relayedDigits = (caller: FakeEndpoint) => caller.commands.filter((command) => command.name === 'uuid_recv_dtmf').map((command) => command.args.split(' ')[1]);

  it('takes digits again a full second after the window opened; an INFO without a digit uses up none of it', async () => {
    const h = await harness();
    const { done } = h.invite();
    const caller = await callerEndpoint(h);
    const dialog = h.srf.uasDialogs[0]!;
    const opened = Date.now();
    h.now = () => opened;
    for (let index = 0; index < INFO_DIGITS_PER_SECOND + 5; index++) await dialog.receiveInfo('application/json', '{"type":"muteRequest"}');
    for (let index = 0; index < INFO_DIGITS_PER_SECOND + 1; index++) await dialog.receiveInfo('application/dtmf', '5');
    h.now = () => opened + 999;
    await dialog.receiveInfo('application/dtmf', '6');
    h.now = () => opened + 1000;
    await dialog.receiveInfo('application/dtmf', '7');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(relayedDigits(caller)).toEqual([...'5'.repeat(INFO_DIGITS_PER_SECOND), '7']);
    dialog.receiveBye();
    await done;
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('guessing with rotating caller numbers (PIN_FAILURES_GLOBAL_PER_HOUR)', () => {
  async function pastTheGlobalBudget() {
    const h = await harness({ PIN_FAILURES_GLOBAL_PER_HOUR: '5' }, { [JIGASI_1]: [answered] });
    for (let index = 0; index < 5; index++) await h.resolver.recordFailure(`+49 4136 77700${index}`, '192.0.2.10');
    return h;
  }

  it('answers a wrong PIN only after a pause, with one try per call, counted and logged as a warning', async () => {
    const h = await pastTheGlobalBudget();
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    const typedAt = Date.now();
    caller.pressKeys('97531864#');
    await done;

    expect(Date.now() - typedAt).toBeGreaterThanOrEqual(2_000 * h.timing.slowedPauseScale);
    expect(caller.collects).toHaveLength(1);
    expect(playedIds(caller)).toMatch(/enter-pin\.wav \/prompts\/de\/attempts-exhausted\.wav \/prompts\/de\/goodbye\.wav$/);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'pin-failed' });
    expect(await h.metrics.registry.metrics()).toMatch(/dialin_pin_entries_slowed_total 1/);
    expect(h.logs.lines.filter((line) => /"level":40.*PIN_FAILURES_GLOBAL_PER_HOUR/.test(line))).toHaveLength(1);
    expectCleanTeardown(h);
    await h.close();
  });

  it('lets a caller who mistyped once in on the next call, after the same pause', async () => {
    const h = await pastTheGlobalBudget();
    const pin = await roomWithPin(h);
    const first = h.invite();
    (await callerEndpoint(h)).pressKeys(`${mistyped(pin.pin)}#`);
    await first.done;

    const second = h.invite();
    await until(() => h.srf.uasDialogs.length === 2 && h.media.endpoints.some((endpoint) => endpoint.holdsEntry), 'the second call at the PIN prompt');
    const typedAt = Date.now();
    h.media.endpoints.find((endpoint) => endpoint.holdsEntry)!.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge', 5_000);
    expect(Date.now() - typedAt).toBeGreaterThanOrEqual(2_000 * h.timing.slowedPauseScale);
    h.srf.uasDialogs[1]!.receiveBye();
    await second.done;
    expect(await h.record(second.call.id)).toMatchObject({ outcome: 'completed', pinId: pin.id });
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('the Jigasi leg', () => {
  it('tries the next Jigasi when the first answers 503', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 503 }], [JIGASI_2]: [answered] });
    const pin = await roomWithPin(h);
    const { done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(h.srf.invitesSent.map((invite) => [invite.uri, invite.outcome])).toEqual([
      [JIGASI_1, 503],
      [JIGASI_2, 200],
    ]);
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expectCleanTeardown(h);
    await h.close();
  });

  it('counts a Jigasi only while a call holds it: released after a failed attempt and at the end of a call', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered, { status: 503 }, answered], [JIGASI_2]: [answered] });
    const pin = await roomWithPin(h);
    for (let index = 0; index < 3; index++) {
      const { done } = h.invite();
      await until(() => h.srf.uasDialogs.length === index + 1, 'the answer');
      h.media.endpoints.find((endpoint) => endpoint.holdsEntry)!.pressKeys(`${pin.pin}#`);
      await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
      h.srf.uasDialogs[index]!.receiveBye();
      await done;
    }
    // Each call starts with the first Jigasi again: nothing of the calls before still counts.
    expect(h.srf.invitesSent.map((invite) => [invite.uri, invite.outcome])).toEqual([
      [JIGASI_1, 200],
      [JIGASI_1, 503],
      [JIGASI_2, 200],
      [JIGASI_1, 200],
    ]);
    expectCleanTeardown(h);
    await h.close();
  });

  it('sends the caller "cannot reach the conference" and goodbye when every Jigasi fails, and logs what each answered', async () => {
    // 487 is what our own CANCEL brings when a Jigasi does not answer in time.
    const h = await harness({}, { [JIGASI_1]: [{ status: 503 }], [JIGASI_2]: [{ status: 487 }] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await done;
    expect(playedIds(caller)).toMatch(/connecting\.wav.*unreachable\.wav.*goodbye\.wav/);
    const logged = h.logs.lines.map((line) => JSON.parse(line) as { msg: string; attempts?: unknown }).find((line) => line.msg === 'no Jigasi reachable');
    expect(logged?.attempts).toEqual([
      { uri: JIGASI_1, outcome: '503' },
      { uri: JIGASI_2, outcome: 'timeout' },
    ]);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'jigasi-failed', room: 'gemeinderat' });
    await h.close();
  });

  it.each([488, 'audio-off'] as const)("FreeSWITCH refuses Jigasi's SDP (%s): the caller hears \"cannot reach the conference\", Jigasi gets its BYE", async (answer) => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    const jigasiSide = await jigasiSideEndpoint(h);
    jigasiSide.modifyAnswer = answer;
    caller.pressKeys(`${pin.pin}#`);
    await done;
    expect(caller.bridgedWith).toBeUndefined();
    expect(playedIds(caller)).toMatch(/connecting\.wav.*unreachable\.wav.*goodbye\.wav/);
    expect(h.srf.invitesSent[0]!.dialog!.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'jigasi-failed' });
    expect((await h.metrics.unexpectedErrors.get()).values.reduce((sum, { value }) => sum + value, 0)).toBe(0);
    await h.close();
  });

  it('a 486 from only one Jigasi (the other 503) is no locked room: "cannot reach the conference", no password asked', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 486 }], [JIGASI_2]: [{ status: 503 }] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await done;
    expect(caller.collects).toHaveLength(1);
    expect(playedIds(caller)).toMatch(/connecting\.wav.*unreachable\.wav.*goodbye\.wav/);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'jigasi-failed' });
    expectCleanTeardown(h);
    await h.close();
  });

  it('logs why drachtio-server could not send the INVITE to a Jigasi, and tries the next', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, notSent: true }], [JIGASI_2]: [answered] });
    const pin = await roomWithPin(h);
    const { done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge through the second Jigasi');
    expect(h.logs.text).toMatch(/"jigasi":"sip:jigasi1.example.org","outcome":"request failed","msg":"Jigasi did not answer; trying the next one"/);
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expectCleanTeardown(h);
    await h.close();
  });

    it('plays the connecting prompt and ringback while Jigasi rings, and stops them on answer', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, answerAfterMs: 30 }] });
    const pin = await roomWithPin(h);
    const { done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(caller.played.some((files) => files[0]!.endsWith('connecting.wav') && files[1]!.startsWith('tone_stream://'))).toBe(true);
    expect(caller.stops).toBe(1);
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    await h.close();
  });
});

describe('a locked room Jigasi cannot join (every Jigasi answers 486)', () => {
  const refused = { status: 486 };

  /** A caller of a locked room at the password prompt: PIN typed, every Jigasi refused. */
  async function atPasswordPrompt(jigasi: Record<string, UacScript[]>, room: { password?: string } = {}) {
    const h = await harness({}, jigasi);
    const pin = await roomWithPin(h, room);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => caller.collects.length === 2, 'the password prompt');
    return { h, call, done, caller };
  }

  /** The caller in the conference hangs up: nothing stays. */
  async function hangUpBridged(h: Harness, done: Promise<unknown>): Promise<void> {
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expectCleanTeardown(h);
    await h.close();
  }

  it('asks the caller for the password, INVITEs Jigasi again with it, and the caller is in; the password is logged nowhere', async () => {
    const { h, done, caller } = await atPasswordPrompt({ [JIGASI_1]: [refused, answered], [JIGASI_2]: [refused] });
    expect(caller.collects[1]!.file).toBe('/prompts/de/enter-room-password.wav');
    caller.pressKeys('97531#');
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(h.srf.invitesSent.map((invite) => [invite.uri, invite.outcome, invite.options.headers['Jitsi-Conference-Room-Pass']])).toEqual([
      [JIGASI_1, 486, undefined],
      [JIGASI_2, 486, undefined],
      [JIGASI_1, 200, '97531'],
    ]);
    expect(caller.bridgedWith).toBeDefined();
    expect(h.logs.text).not.toContain('97531');
    await hangUpBridged(h, done);
  });

  it('takes the password by SIP INFO too', async () => {
    const { h, done } = await atPasswordPrompt({ [JIGASI_1]: [refused, answered], [JIGASI_2]: [refused] });
    for (const key of '2468#') await h.srf.uasDialogs[0]!.receiveInfo('application/dtmf-relay', `Signal=${key}\r\nDuration=160`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(h.srf.invitesSent.at(-1)!.options.headers['Jitsi-Conference-Room-Pass']).toBe('2468');
    await hangUpBridged(h, done);
  });

  it('asks also when the stored password is wrong (Jigasi refused it)', async () => {
    const { h, done, caller } = await atPasswordPrompt({ [JIGASI_1]: [refused, answered], [JIGASI_2]: [refused] }, { password: '2468' });
    caller.pressKeys('1357#');
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(h.srf.invitesSent.map((invite) => invite.options.headers['Jitsi-Conference-Room-Pass'])).toEqual(['2468', '2468', '1357']);
    await hangUpBridged(h, done);
  });

  it('after PIN_ATTEMPTS wrong passwords: "the password is not correct", goodbye, jigasi-failed', async () => {
    const { h, call, done, caller } = await atPasswordPrompt({ [JIGASI_1]: [refused], [JIGASI_2]: [refused] });
    for (let ask = 1; ask <= 3; ask++) {
      await until(() => caller.collects.length === ask + 1, `password prompt ${ask}`);
      caller.pressKeys('1111#');
    }
    await done;
    expect(caller.collects.slice(1).map((collect) => collect.file)).toEqual(['/prompts/de/enter-room-password.wav', '/prompts/de/invalid-room-password.wav', '/prompts/de/invalid-room-password.wav']);
    expect(h.srf.invitesSent).toHaveLength(8);
    expect(playedIds(caller)).toMatch(/invalid-room-password\.wav \S*goodbye\.wav$/);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'jigasi-failed' });
    expectCleanTeardown(h);
    await h.close();
  });

  it('a caller who types nothing hears "the password is not correct" and goodbye; no further INVITE', async () => {
    const { h, done, caller } = await atPasswordPrompt({ [JIGASI_1]: [refused], [JIGASI_2]: [refused] });
    caller.pressKeys('#');
    await done;
    expect(h.srf.invitesSent).toHaveLength(2);
    expect(playedIds(caller)).toMatch(/invalid-room-password\.wav \S*goodbye\.wav$/);
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('ending a call from any side', () => {
  it('CANCEL while the endpoint is being created: no answer, and the late endpoint is destroyed', async () => {
    const h = await harness();
    let release!: () => void;
    h.media.createGate = new Promise((resolve) => (release = resolve));
    const { call, req, res, done } = h.invite();
    await until(() => h.registry.size === 1, 'admission');
    req.receiveCancel();
    await done;
    expect(h.registry.size).toBe(0);
    release();
    await until(() => h.media.endpoints[0]?.destroyCalls === 1, 'the late endpoint to be destroyed');
    // The hang-up is no failed endpoint: none is made once more.
    expect(h.media.endpoints).toHaveLength(1);
    expect(h.logs.text).not.toMatch(/endpoint failed/);
    expect(res.sent.some(({ status }) => status === 200)).toBe(false);
    expect(h.srf.uasDialogs).toEqual([]);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'cancelled' });
    await h.close();
  });

  it('CANCEL while the 200 OK is on its way: createUAS rejects with 487 and the endpoint goes', async () => {
    const h = await harness();
    let release!: () => void;
    h.srf.uasGate = new Promise((resolve) => (release = resolve));
    const { call, req, done } = h.invite();
    await until(() => h.media.endpoints.length === 1, 'the endpoint');
    req.receiveCancel();
    release();
    await done;
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'cancelled' });
    await h.close();
  });

  it('caller hangs up while Jigasi is still ringing: the INVITE is cancelled', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, ringForever: true }] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.srf.invitesSent.length === 1, 'the INVITE to Jigasi');
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expect(h.srf.invitesSent[0]!.request.cancelsSent).toBe(1);
    expect(h.srf.invitesSent).toHaveLength(1);
    expect(errorsLogged(h)).toEqual([]);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'cancelled' });
    await h.close();
  });

  it("Jigasi's 200 OK crosses our CANCEL: the late dialog gets its BYE", async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, ringForever: true, answerCrossesCancel: true }] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.srf.invitesSent.length === 1, 'the INVITE to Jigasi');
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    await until(() => h.srf.invitesSent[0]!.dialog?.byesSent === 1, 'a BYE for the late Jigasi dialog');
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'cancelled' });
    await h.close();
  });

  it('Jigasi hangs up while the caller still hears the connecting prompt', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    // FreeSWITCH has not yet answered the re-INVITE with Jigasi's SDP: no bridge yet.
    let answerReInvite!: () => void;
    const jigasiSide = await jigasiSideEndpoint(h);
    jigasiSide.modifyGate = new Promise((resolve) => (answerReInvite = resolve));
    caller.pressKeys(`${pin.pin}#`);
    await until(() => jigasiSide.modified.length === 1, 'the re-INVITE to FreeSWITCH');
    h.srf.invitesSent[0]!.dialog!.receiveBye();
    answerReInvite();
    await done;
    expect(caller.bridgedWith).toBeUndefined();
    expect(playedIds(caller)).not.toMatch(/conference-ended/);
    // Jigasi's BYE is no refusal of its SDP by FreeSWITCH.
    expect(errorsLogged(h)).toEqual([]);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'jigasi-failed' });
    await h.close();
  });

  it('an administrator kicks the call while it is connecting', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200, ringForever: true }] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.srf.invitesSent.length === 1, 'the INVITE to Jigasi');
    expect(h.registry.hangUp(call.id)).toBe(true);
    h.registry.abandonAll();
    await done;
    expect(h.srf.invitesSent[0]!.request.cancelsSent).toBe(1);
    expect(h.srf.uasDialogs[0]!.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'kicked' });
    // What the operator reads: who ended the call and where it was; a later reason changes nothing.
    expect(h.logs.lines.filter((line) => line.includes('"msg":"hang-up"'))).toEqual([expect.stringContaining('"reason":"kicked","state":"connecting"')]);
    await h.close();
  });

  it("FreeSWITCH drops the Jigasi leg's channel in the conference: the caller hears the conference has ended, Jigasi gets its BYE", async () => {
    const { h, caller, jigasi, callId, done } = await inConference();
    h.media.endpoints[1]!.hangUpFromFreeswitch();
    await done;
    expect(playedIds(caller)).toMatch(/conference-ended\.wav.*goodbye\.wav/);
    expect(jigasi.byesSent).toBe(1);
    expect(h.srf.uasDialogs[0]!.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(await h.record(callId)).toMatchObject({ outcome: 'completed' });
    await h.close();
  });

  it('the call-record store fails as a call arrives: 480 to the caller, the error logged and counted, the next call goes on', async () => {
    const h = await harness({ PIN_ATTEMPTS: '1' });
    const insert = jest.spyOn(h.store, 'insertCallRecord').mockRejectedValueOnce(new Error('SQLITE_FULL: database or disk is full'));
    const first = h.invite();
    await first.done;
    expect(first.res.sent.map(({ status }) => status)).toEqual([480]);
    expect(errorsLogged(h)).toEqual([expect.stringMatching(/SQLITE_FULL.*"msg":"call failed"/)]);
    expect(await h.metrics.registry.metrics()).toMatch(/dialin_unexpected_errors_total\{boundary="call"\} 1/);
    expectCleanTeardown(h);

    insert.mockRestore();
    const second = h.invite();
    await second.done;
    expect(second.res.sent[0]?.status).toBe(200);
    expect(await h.record(second.call.id)).toMatchObject({ outcome: 'answered-no-pin' });
    await h.close();
  });

  it('the call record cannot be finished (a full disk): the call still ends cleanly, the error logged, and the next call goes on', async () => {
    const h = await harness({ PIN_ATTEMPTS: '1' });
    const finish = jest.spyOn(h.store, 'finishCallRecord').mockRejectedValueOnce(new Error('SQLITE_FULL: database or disk is full'));
    const first = h.invite();
    await first.done;
    expect(errorsLogged(h)).toEqual([expect.stringMatching(/SQLITE_FULL.*"msg":"could not finish the call record"/)]);
    expect(h.logs.text).toMatch(/"outcome":"answered-no-pin".*"msg":"call ended"/);
    expectCleanTeardown(h);

    finish.mockRestore();
    const second = h.invite();
    await second.done;
    expect(await h.record(second.call.id)).toMatchObject({ outcome: 'answered-no-pin' });
    await h.close();
  });

  it('FreeSWITCH drops the caller during PIN entry: the call ends instead of hanging', async () => {
    const h = await harness();
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    await until(() => caller.collects.length === 1, 'PIN entry');
    caller.hangUpFromFreeswitch();
    await done;
    expect(h.srf.uasDialogs[0]!.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'answered-no-pin' });
    await h.close();
  });

  it("FreeSWITCH fails the caller's endpoint once: a second one answers the call", async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    h.media.createFailures = [new Error('Connection timeout')];
    const { call, res, done } = h.invite();
    const caller = await callerEndpoint(h);
    expect(res.sent.map(({ status }) => status)).toEqual([200]);
    expect(h.srf.uasDialogs[0]!.local.sdp).toBe(caller.local.sdp);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'completed' });
    await h.close();
  });

  it("FreeSWITCH fails the caller's endpoint twice: 480 to the caller, recorded as media-failed", async () => {
    const h = await harness();
    h.media.createFailures = [new Error('Connection timeout'), new Error('Connection timeout')];
    const { call, res, done } = h.invite();
    await done;
    expect(res.sent.map(({ status }) => status)).toEqual([480]);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'media-failed' });
    await h.close();
  });

  it("the Jigasi leg's endpoint made during PIN entry fails: a second one is made at once and the caller gets in", async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    h.media.createFailures = [undefined, new Error('Connection timeout')];
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    await until(() => h.media.endpoints.length === 2, 'the second Jigasi-leg endpoint, while the caller has typed nothing yet');
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(h.media.endpoints).toHaveLength(2);
    expect(caller.bridgedWith).toBe(h.media.endpoints[1]);
    expect(h.srf.invitesSent).toHaveLength(1);
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'completed' });
    await h.close();
  });

  it("FreeSWITCH fails the Jigasi leg's endpoint twice: no INVITE to Jigasi, recorded as media-failed", async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    h.media.createFailures = [undefined, new Error('Connection timeout'), new Error('Connection timeout')];
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await done;
    expect(h.srf.invitesSent).toEqual([]);
    expect(h.srf.uasDialogs[0]!.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'media-failed' });
    await h.close();
  });

  it('the service stops: calls in the conference and in PIN entry are hung up on every side before it returns', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const conference = h.invite();
    const inConference = await callerEndpoint(h);
    inConference.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    const typing = h.invite();
    await until(() => h.registry.list().some((view) => view.state === 'collecting'), 'the second caller in PIN entry');
    await h.registry.endAll(5_000);
    expect(h.registry.size).toBe(0);
    expect(h.srf.invitesSent[0]!.dialog!.byesSent).toBe(1);
    expect(h.srf.uasDialogs.map((dialog) => dialog.byesSent)).toEqual([1, 1]);
    expect(h.media.endpoints.every((endpoint) => endpoint.destroyCalls === 1)).toBe(true);
    await Promise.all([conference.done, typing.done]);
    expect(await h.record(conference.call.id)).toMatchObject({ outcome: 'service-stopped' });
    expect(await h.record(typing.call.id)).toMatchObject({ outcome: 'service-stopped' });
    await h.close();
  });

  it('maintenance after draining: a caller still typing the PIN is hung up without a farewell', async () => {
    const h = await harness();
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    await h.registry.endForMaintenance(5_000);
    await done;
    expect(h.srf.uasDialogs[0]!.byesSent).toBe(1);
    expect(playedIds(caller)).not.toContain('service-ending');
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'service-stopped' });
    await h.close();
  });

  it('drachtio-server goes away during the conference: every call is ended and recorded', async () => {
    const h = await harness({}, { [JIGASI_1]: [answered] });
    const pin = await roomWithPin(h);
    const { call, done } = h.invite();
    const caller = await callerEndpoint(h);
    caller.pressKeys(`${pin.pin}#`);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    h.registry.abandonAll();
    await done;
    expectCleanTeardown(h);
    expect(await h.record(call.id)).toMatchObject({ outcome: 'completed' });
    await h.close();
  });
});

describe('screening before any media', () => {
  it.each([
    ['an untrusted source', { SIP_TRUSTED_SOURCES: '198.51.100.0/24' }, {}, 403, 'untrusted-source'],
    ['a scanner user agent', {}, { userAgent: 'friendly-scanner' }, 403, 'scanner'],
    ['sipvicious', {}, { userAgent: 'sipvicious 0.3' }, 403, 'scanner'],
    ['an INVITE without a Contact (drachtio-srf could not answer it)', {}, { headers: { Contact: undefined } }, 400, 'no-contact'],
  ] as const)('refuses %s with %i, counted by its reason, and creates nothing', async (_name, env, invite, status, reason) => {
    const h = await harness(env);
    const { call, res, done } = h.invite(invite);
    await done;
    expect(res.finalStatus).toBe(status);
    expect(h.media.endpoints).toEqual([]);
    expect(await h.record(call.id)).toBeUndefined();
    expect(await h.metrics.registry.metrics()).toMatch(new RegExp(`dialin_calls_refused_total\\{reason="${reason}"\\} 1`));
    await h.close();
  });

  it('accepts a trusted source', async () => {
    const h = await harness({ SIP_TRUSTED_SOURCES: '192.0.2.0/24', PIN_ATTEMPTS: '1' });
    const { res, done } = h.invite();
    await done;
    expect(res.sent[0]?.status).toBe(200);
    await h.close();
  });

  it('accepts an INVITE over a registered trunk from outside SIP_TRUSTED_SOURCES, and logs the number dialled, never the caller', async () => {
    const h = await harness({ SIP_TRUSTED_SOURCES: '192.0.2.0/24', PIN_ATTEMPTS: '1' });
    const config = { name: 'telekom', calledNumberFrom: 'to' } as TrunkConfig;
    h.trunkAddresses.set('198.51.100.1', config);
    const { res, done } = h.invite({
      source: '198.51.100.1',
      uri: 'sip:0413612345@203.0.113.5:5060',
      headers: { To: '<sip:04136-123456@tel.provider.de>', 'P-Asserted-Identity': '<tel:+494136555134>' },
    });
    await done;
    expect(res.sent[0]?.status).toBe(200);
    const ended = h.logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'call ended');
    expect(ended).toMatchObject({ trunk: 'telekom', called: '+494136123456', caller: '…34' });
    expect(h.logs.text).not.toContain('555134');

    const elsewhere = h.invite({ source: '198.51.100.2' });
    await elsewhere.done;
    expect(elsewhere.res.finalStatus).toBe(403);
    await h.close();
  });

  it('answers 486 beyond MAX_CALLS, and 503 while FreeSWITCH is down', async () => {
    const h = await harness({ MAX_CALLS: '1' }, { [JIGASI_1]: [{ status: 200, ringForever: true }] });
    const first = h.invite();
    await callerEndpoint(h);
    const second = h.invite();
    await second.done;
    expect(second.res.finalStatus).toBe(486);
    first.call.hangUp('kicked');
    await first.done;
    h.mediaUp = false;
    const third = h.invite();
    await third.done;
    expect(third.res.finalStatus).toBe(503);
    await h.close();
  });

  it('copes with an INVITE without a From header: the caller is anonymous', async () => {
    const h = await harness({ PIN_ATTEMPTS: '1' });
    const { call, done } = h.invite({ from: '' });
    await done;
    expect(await h.record(call.id)).toMatchObject({ caller: 'anonymous' });
    await h.close();
  });
});
