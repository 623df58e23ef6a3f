import type { TrunkConfig } from '../../core/config';
import { DialOutPolicy, type DialOutLimits } from '../../gateway/dial-out-policy';
import { DialOutService } from '../../gateway/dial-outs';
import { trunkCallUri } from '../../gateway/trunk-call';
import type { DialOutRoom } from '../../provisioning/dial-outs';
import { FakeRequest, FakeResponse, type UacScript } from '../fakes/drachtio';
import type { FakeEndpoint } from '../fakes/freeswitch';
import { JIGASI_1, expectCleanTeardown, harness, until, type Harness } from './harness';

/** What the callee of a dial-out experiences (SPEC §6), against the fakes of drachtio-srf and drachtio-fsmrf. */

const TRUNK: TrunkConfig = {
  name: 'telekom',
  registrars: ['sip:reg1.provider.de'],
  outboundProxy: 'sip:sbc.provider.de;lr',
  transport: 'udp',
  user: '0413612345',
  authUser: 'auth-0413612345',
  password: 'trunk-secret-never-logged',
  expires: 600,
  numbers: ['+494136123456'],
  callerId: '+494136123456',
  calledNumberFrom: 'request-uri',
};
const CALLEE = '+49 4136 555 777';
const CALLEE_URI = 'sip:+494136555777@reg1.provider.de';
const ROOM: DialOutRoom = { room: 'gemeinderat', roomJid: 'gemeinderat@conference.meet.example.org', password: '2468', startMuted: false };
const LIMITS: DialOutLimits = { allowed: ['+49'], denied: [], maxPerHour: 30, maxConcurrent: 4 };

interface Bed {
  h: Harness;
  dialOuts: DialOutService;
  /** Places the usual dial-out and returns its id. */
  place: (label?: string | null) => Promise<string>;
  callee: () => Promise<FakeEndpoint>;
}

async function bed(callee: UacScript, options: { limits?: Partial<DialOutLimits>; trunk?: TrunkConfig; jigasi?: UacScript } = {}): Promise<Bed> {
  const h = await harness({}, { [JIGASI_1]: [options.jigasi ?? { status: 200 }] });
  h.srf.script(CALLEE_URI, callee);
  const trunk = 'trunk' in options ? options.trunk : TRUNK;
  const dialOuts = new DialOutService(new DialOutPolicy({ ...LIMITS, ...options.limits }, h.store), { countryCode: '49', maxCalls: 10, jigasiRoomHeader: 'Jitsi-Conference-Room', mucDomain: 'conference.meet.example.org' }, h.registry, h.store, () => trunk, h.metrics, h.callDependencies().logger);
  dialOuts.attach(h.callDependencies());
  return {
    h,
    dialOuts,
    place: async (label = 'Frau Meyer') => {
      const placement = await dialOuts.place({ number: CALLEE, label, room: ROOM });
      if (!placement.placed) throw new Error(`not placed: ${placement.refusal}`);
      return placement.dialOut.id;
    },
    callee: async () => {
      await until(() => h.media.endpoints.length > 0 && h.srf.invitesSent.length > 0, 'the INVITE to the callee');
      return h.media.endpoints[0]!;
    },
  };
}

/** Waits (at most 5 s) until the call record has an outcome, and checks it is `expected`. */
async function recordEnds(h: Harness, id: string, expected?: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const outcome = (await h.record(id))?.outcome;
    if (outcome != null) {
      if (expected !== undefined) expect(outcome).toBe(expected);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the record of ${id} has no outcome after 5 s`);
}

const stateOf = async (dialOuts: DialOutService, id: string) => (await dialOuts.get(id))?.state;

describe('a dial-out', () => {
  it('rings the number through the trunk from the municipality; 1 joins the callee to the room under their label', async () => {
    const { h, dialOuts, place, callee } = await bed({ status: 200, provisional: [180], answerAfterMs: 20 });
    const id = await place();
    const endpoint = await callee();
    const [invite] = h.srf.invitesSent;
    expect(invite!.uri).toBe(CALLEE_URI);
    expect(invite!.options).toMatchObject({
      localSdp: endpoint.local.sdp,
      headers: { From: '<sip:+494136123456@reg1.provider.de>', 'P-Asserted-Identity': '<sip:+494136123456@reg1.provider.de>' },
      auth: { username: 'auth-0413612345', password: TRUNK.password },
      proxy: 'sip:sbc.provider.de;lr',
    });
    await until(() => endpoint.collects.length > 0, 'the callee to answer and hear the invitation');
    expect(await stateOf(dialOuts, id)).toBe('waiting-for-key');
    expect(endpoint.modified).toEqual([invite!.dialog!.remote.sdp]);
    expect(endpoint.collects[0]).toMatchObject({ file: '/prompts/de/dial-out-invitation.wav', min: 1, max: 1, timeout: 15_000 });

    endpoint.pressKeys('1');
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    const jigasi = h.srf.invitesSent[1]!;
    expect(jigasi.uri).toBe(JIGASI_1);
    expect(jigasi.options.callingName).toBe('Frau Meyer');
    expect(jigasi.options.headers).toMatchObject({ 'Jitsi-Conference-Room': ROOM.roomJid, 'Jitsi-Conference-Room-Pass': '2468' });
    expect(endpoint.bridgedWith).toBe(h.media.endpoints[1]);
    expect(h.registry.list()).toEqual([expect.objectContaining({ id, direction: 'out', room: 'gemeinderat', label: 'Frau Meyer', role: 'speaker', caller: '…77', state: 'bridged' })]);
    expect(await dialOuts.get(id)).toMatchObject({ state: 'bridged', number: '…77', label: 'Frau Meyer' });

    invite!.dialog!.receiveBye();
    await until(() => h.registry.size === 0, 'the end of the call');
    await recordEnds(h, id);
    expect(await h.record(id)).toMatchObject({ direction: 'out', outcome: 'completed', room: 'gemeinderat', caller: '…77', pinId: null });
    expect(await dialOuts.get(id)).toMatchObject({ state: 'ended', outcome: 'completed', number: '…77' });
    expectCleanTeardown(h);
    expect(h.logs.text).not.toContain('555777');
    expect(h.logs.text).not.toContain(TRUNK.password);
    await h.close();
  });

  it.each([
    [{ registrars: ['sip:reg1.provider.de'], transport: 'udp' }, 'sip:+494136555777@reg1.provider.de'],
    [{ registrars: ['sip:127.0.0.5:5080'], transport: 'udp' }, 'sip:+494136555777@127.0.0.5:5080'],
    [{ registrars: ['sip:reg1.provider.de:5061;transport=tls'], transport: 'tls' }, 'sip:+494136555777@reg1.provider.de:5061;transport=tls'],
  ] as const)('calls a registrar %j at %s', (trunk, uri) => {
    expect(trunkCallUri({ ...TRUNK, ...trunk, registrars: [...trunk.registrars] }, '+494136555777')).toBe(uri);
  });

  it('shows the callee ringing while the phone rings (180, then 183), and its record names the room from the start', async () => {
    const { h, dialOuts, place } = await bed({ status: 200, provisional: [180, 183], ringForever: true });
    const id = await place();
    await until(() => h.registry.list()[0]?.state === 'ringing', 'the 180');
    expect(await stateOf(dialOuts, id)).toBe('ringing');
    expect(await h.record(id)).toMatchObject({ direction: 'out', room: 'gemeinderat', caller: '…77', outcome: null });
    expect(dialOuts.hangUp(id)).toBe(true);
    await until(() => h.registry.size === 0, 'the end');
    expect(h.srf.invitesSent[0]!.request.cancelsSent).toBe(1);
    await recordEnds(h, id, 'kicked');
    expectCleanTeardown(h);
    await h.close();
  });

  it.each([
    ['no key within 15 s (a voicemail greeting)', ''],
    ['another key', '2'],
    ['* instead of 1', '*'],
  ])('ends on %s: never into the meeting, recorded as declined', async (_case, keys) => {
    const { h, place, callee } = await bed({ status: 200 });
    const id = await place();
    const endpoint = await callee();
    await until(() => endpoint.collects.length > 0, 'the invitation');
    endpoint.pressKeys(keys);
    await until(() => h.registry.size === 0, 'the end');
    expect(h.srf.invitesSent.map(({ uri }) => uri)).toEqual([CALLEE_URI]);
    expect(endpoint.played.flat()).toContain('/prompts/de/goodbye.wav');
    await recordEnds(h, id, 'declined');
    expectCleanTeardown(h);
    await h.close();
  });

  it('takes the 1 by SIP INFO too', async () => {
    const { h, place, callee } = await bed({ status: 200 });
    await place();
    const endpoint = await callee();
    await until(() => endpoint.collects.length > 0, 'the invitation');
    await h.srf.invitesSent[0]!.dialog!.receiveInfo('application/dtmf-relay', 'Signal=1\r\nDuration=160');
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    h.registry.hangUp(h.registry.list()[0]!.id);
    await until(() => h.registry.size === 0, 'the end');
    await h.close();
  });

  it.each([486, 480, 603, 408])('is not answered when the trunk says %i; the endpoint goes', async (status) => {
    const { h, place } = await bed({ status });
    const id = await place();
    await recordEnds(h, id, 'not-answered');
    expect(h.registry.size).toBe(0);
    expectCleanTeardown(h);
    await h.close();
  });

  it('is a failure, logged and counted, not "not answered", when drachtio-server refuses to send the INVITE', async () => {
    const { h, place } = await bed({ status: 200, notSent: true });
    const id = await place();
    await recordEnds(h, id, 'media-failed');
    expect(h.logs.text).toMatch(/"code":"EDRACHTIO".*"msg":"call failed"/);
    expect(await h.metrics.registry.metrics()).toMatch(/dialin_unexpected_errors_total\{boundary="call"\} 1/);
    expectCleanTeardown(h);
    await h.close();
  });

  it('ends as declined when the callee hangs up during the invitation', async () => {
    const { h, place, callee } = await bed({ status: 200 });
    const id = await place();
    const endpoint = await callee();
    await until(() => endpoint.collects.length > 0, 'the invitation');
    h.srf.invitesSent[0]!.dialog!.receiveBye();
    await recordEnds(h, id, 'declined');
    expectCleanTeardown(h);
    await h.close();
  });

  it('hears "cannot reach the conference" when no Jigasi answers after the 1', async () => {
    const { h, place, callee } = await bed({ status: 200 }, { jigasi: { status: 503 } });
    const id = await place();
    const endpoint = await callee();
    await until(() => endpoint.collects.length > 0, 'the invitation');
    endpoint.pressKeys('1');
    await recordEnds(h, id, 'jigasi-failed');
    expect(endpoint.played.flat()).toContain('/prompts/de/unreachable.wav');
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('a dial-out Jitsi Meet asks for ("invite by phone": Jigasi INVITEs a number through the gateway)', () => {
  const JIGASI_SDP = 'v=0 jigasi-offer';

  // Jitsi Meet sends digits only, international without "+" (jitsi-meet's invite functions).
  function jigasiAsks(number = 'sip:494136555777@gateway.example.org', room = 'gemeinderat@conference.meet.example.org') {
    const req = new FakeRequest('INVITE', { From: '<sip:jigasi@jigasi1.example.org>;tag=j1', Contact: '<sip:jigasi@192.0.2.50:5060>', 'Jitsi-Conference-Room': room, 'Content-Type': 'application/sdp' }, JIGASI_SDP, '192.0.2.50', number);
    const res = new FakeResponse();
    return { req, res, invite: { req, res } };
  }

  it('takes the number from the number parameter a registrar-less Jigasi puts it in (jigasi-config/ OUTBOUND_PREFIX)', async () => {
    const { h, dialOuts, callee } = await bed({ status: 200, ringForever: true });
    const { invite } = jigasiAsks('sip:jitsi-dial-out@127.0.0.1:5060;number=494136555777');
    dialOuts.acceptFromJigasi(invite);
    await callee();
    expect(h.srf.invitesSent[0]!.uri).toBe(CALLEE_URI);
    h.registry.list().forEach((call) => h.registry.hangUp(call.id));
    await until(() => h.registry.size === 0, 'the end');
    await h.close();
  });

  it('rings the callee, tells Jigasi it rings, and answers Jigasi only once the callee pressed 1', async () => {
    const { h, dialOuts, callee } = await bed({ status: 200, provisional: [180], answerAfterMs: 20 });
    const { res, invite } = jigasiAsks();
    dialOuts.acceptFromJigasi(invite);
    const endpoint = await callee();
    expect(h.srf.invitesSent[0]!.uri).toBe(CALLEE_URI);
    await until(() => res.sent.some(({ status }) => status === 180), 'the 180 to Jigasi');
    await until(() => endpoint.collects.length > 0, 'the invitation');
    expect(res.finalResponseSent).toBe(false);
    expect(h.registry.list()).toEqual([expect.objectContaining({ direction: 'out', room: 'gemeinderat', caller: '…77', state: 'waiting-for-key' })]);

    endpoint.pressKeys('1');
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(res.finalStatus).toBe(200);
    expect(h.srf.invitesSent.map(({ uri }) => uri)).toEqual([CALLEE_URI]);
    const jigasiSide = h.media.endpoints[1]!;
    expect(jigasiSide.remoteSdp).toBe(JIGASI_SDP);
    expect(h.srf.uasDialogs[0]!.local.sdp).toBe(jigasiSide.sdpAtCreation);
    expect(endpoint.bridgedWith).toBe(jigasiSide);

    h.srf.uasDialogs[0]!.receiveBye();
    await until(() => h.registry.size === 0, 'the end of the call');
    const id = h.logs.lines.map((line) => /"callId":"([^"]+)"/.exec(line)?.[1]).find(Boolean)!;
    await recordEnds(h, id, 'completed');
    expect(h.srf.invitesSent[0]!.dialog!.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(h.logs.text).not.toContain('555777');
    await h.close();
  });

  it('answers Jigasi 603 when the callee does not press 1, and never joins the room', async () => {
    const { h, dialOuts, callee } = await bed({ status: 200 });
    const { res, invite } = jigasiAsks();
    dialOuts.acceptFromJigasi(invite);
    const endpoint = await callee();
    await until(() => endpoint.collects.length > 0, 'the invitation');
    endpoint.pressKeys('2');
    await until(() => h.registry.size === 0, 'the end');
    expect(res.finalStatus).toBe(603);
    expect(h.srf.uasDialogs).toEqual([]);
    expect(endpoint.bridgedWith).toBeUndefined();
    expectCleanTeardown(h);
    await h.close();
  });

  it('answers Jigasi 480, not 603, when the callee is busy: Jitsi Meet shows them as not reached rather than declined', async () => {
    const { h, dialOuts } = await bed({ status: 486 });
    const { res, invite } = jigasiAsks();
    dialOuts.acceptFromJigasi(invite);
    await until(() => h.registry.size === 0 && res.finalResponseSent, 'the end');
    expect(res.finalStatus).toBe(480);
    expectCleanTeardown(h);
    await h.close();
  });

  it('cancels the ringing callee when the person in Jitsi Meet cancels the invitation', async () => {
    const { h, dialOuts } = await bed({ status: 200, provisional: [180], ringForever: true });
    const { req, res, invite } = jigasiAsks();
    dialOuts.acceptFromJigasi(invite);
    await until(() => h.registry.list()[0]?.state === 'ringing', 'the callee to ring');
    req.receiveCancel();
    await until(() => h.registry.size === 0, 'the end');
    expect(h.srf.invitesSent[0]!.request.cancelsSent).toBe(1);
    expect(res.finalResponseSent).toBe(false);
    expectCleanTeardown(h);
    await h.close();
  });

  it.each([
    ['a premium-rate number', 'sip:499001234567@gateway.example.org', 'gemeinderat@conference.meet.example.org', 403],
    ['a number typed without +49, to which Jitsi Meet put a 1 (North America)', 'sip:104136555777@gateway.example.org', 'gemeinderat@conference.meet.example.org', 403],
    ['no number at all', 'sip:jigasi@gateway.example.org', 'gemeinderat@conference.meet.example.org', 403],
    ['a room of another MUC domain', 'sip:+494136555777@gateway.example.org', 'gemeinderat@conference.other.example.org', 403],
  ])('refuses %s with a SIP status before any SIP goes out', async (_case, uri, room, status) => {
    const { h, dialOuts } = await bed({ status: 200 });
    const { res, invite } = jigasiAsks(uri, room);
    dialOuts.acceptFromJigasi(invite);
    await until(() => res.finalStatus !== undefined, 'the answer to Jigasi');
    expect(res.finalStatus).toBe(status);
    expect(h.srf.invitesSent).toEqual([]);
    expect(h.media.endpoints).toEqual([]);
    expect(h.registry.size).toBe(0);
    await h.close();
  });

  it('shares the hourly and concurrency caps with the API', async () => {
    const { h, dialOuts, place } = await bed({ status: 200, ringForever: true }, { limits: { maxConcurrent: 1 } });
    await place();
    const { res, invite } = jigasiAsks();
    dialOuts.acceptFromJigasi(invite);
    await until(() => res.finalStatus !== undefined, 'the answer to Jigasi');
    expect(res.finalStatus).toBe(403);
    expect(await h.metrics.registry.metrics()).toContain('dialin_dial_outs_refused_total{reason="concurrency-cap"} 1');
    h.registry.list().forEach((call) => h.registry.hangUp(call.id));
    await until(() => h.registry.size === 0, 'the end');
    await h.close();
  });
});

describe('toll-fraud safeguards', () => {
  it.each([
    ['+49 900 1234567', 'denied'],
    ['0900 1234567', 'denied'],
    ['+49 137 1234567', 'denied'],
    ['+49 11833', 'denied'],
    ['+49 19222', 'denied'],
    ['+979 1234 5678', 'denied'],
    // every international network of the fixed list, each on its own: DIALOUT_ALLOWED cannot open them
    ['+808 1234 5678', 'denied'],
    ['+870 773 123 456', 'denied'],
    ['+881 6 1234 5678', 'denied'],
    ['+882 1234 5678', 'denied'],
    ['+883 510 0001 2345', 'denied'],
    ['+44 20 7946 0018', 'not-allowed'],
    ['call me', 'not-allowed'],
  ])('refuses %s before any SIP (%s), counted and logged masked', async (number, reason) => {
    const { h, dialOuts } = await bed({ status: 200 });
    expect(await dialOuts.place({ number, label: null, room: ROOM })).toMatchObject({ placed: false, refusal: 'number-not-allowed' });
    expect(h.srf.invitesSent).toEqual([]);
    expect(h.media.endpoints).toEqual([]);
    expect(await h.metrics.registry.metrics()).toContain(`dialin_dial_outs_refused_total{reason="${reason}"} 1`);
    expect(h.logs.text).toContain('dial-out refused');
    const digits = number.replace(/\D/g, '');
    if (digits.length > 4) expect(h.logs.text).not.toContain(digits.slice(-6));
    await h.close();
  });

  it('places at most DIALOUT_MAX_CONCURRENT at once', async () => {
    const { h, dialOuts, place } = await bed({ status: 200, ringForever: true }, { limits: { maxConcurrent: 2 } });
    const first = await place();
    await place();
    expect(await dialOuts.place({ number: CALLEE, label: null, room: ROOM })).toMatchObject({ placed: false, refusal: 'too-many' });
    dialOuts.hangUp(first);
    await until(() => h.registry.size === 1, 'the first to end');
    expect((await dialOuts.place({ number: CALLEE, label: null, room: ROOM })).placed).toBe(true);
    expect(await h.metrics.registry.metrics()).toContain('dialin_dial_outs_refused_total{reason="concurrency-cap"} 1');
    h.registry.list().forEach((call) => h.registry.hangUp(call.id));
    await until(() => h.registry.size === 0, 'the end');
    await h.close();
  });

  it('is unavailable without a registered trunk or while FreeSWITCH is away', async () => {
    const { h, dialOuts } = await bed({ status: 200 }, { trunk: undefined });
    expect(await dialOuts.place({ number: CALLEE, label: null, room: ROOM })).toMatchObject({ placed: false, refusal: 'unavailable' });
    const withTrunk = await bed({ status: 200 });
    withTrunk.h.mediaUp = false;
    expect(await withTrunk.dialOuts.place({ number: CALLEE, label: null, room: ROOM })).toMatchObject({ placed: false, refusal: 'unavailable' });
    expect(h.srf.invitesSent).toEqual([]);
    await h.close();
    await withTrunk.h.close();
  });

  it('counts DIALOUT_MAX_PER_HOUR over the last hour, not per clock hour', async () => {
    let now = Date.UTC(2026, 10, 29, 10, 59);
    const h = await harness();
    const policy = new DialOutPolicy({ ...LIMITS, maxPerHour: 2 }, h.store, () => now);
    expect(await policy.admit('+494136555777', 0)).toBeUndefined();
    now += 60_000;
    expect(await policy.admit('+494136555777', 0)).toBeUndefined();
    now += 60_000;
    expect(await policy.admit('+494136555777', 0)).toBe('hourly-cap');
    now = Date.UTC(2026, 10, 29, 11, 59, 1);
    expect(await policy.admit('+494136555777', 0)).toBeUndefined();
    expect(await policy.admit('+494136555777', 0)).toBe('hourly-cap');
    // A second process on the same database counts into the same hour.
    const otherProcess = new DialOutPolicy({ ...LIMITS, maxPerHour: 2 }, h.store, () => now);
    expect(await otherProcess.admit('+494136555777', 0)).toBe('hourly-cap');
    await h.close();
  });

  it('holds DIALOUT_MAX_CONCURRENT when requests arrive together', async () => {
    const { h, dialOuts } = await bed({ status: 200, ringForever: true }, { limits: { maxConcurrent: 2 } });
    const placements = await Promise.all([1, 2, 3].map(async () => dialOuts.place({ number: CALLEE, label: null, room: ROOM })));
    expect(placements.map((placement) => placement.placed)).toEqual([true, true, false]);
    h.registry.list().forEach((call) => h.registry.hangUp(call.id));
    await until(() => h.registry.size === 0, 'the end');
    await h.close();
  });

  it('denies what DIALOUT_DENIED adds, and allows only DIALOUT_ALLOWED', () => {
    const policy = new DialOutPolicy({ ...LIMITS, allowed: ['+494136', '+43'], denied: ['+4313'] }, { takeLimitedAttempt: async () => true });
    expect(policy.numberRefusal('+494136555777')).toBeUndefined();
    expect(policy.numberRefusal('+4940123456')).toBe('not-allowed');
    expect(policy.numberRefusal('+4312345678')).toBeUndefined();
    expect(policy.numberRefusal('+4313456789')).toBe('denied');
  });
});
