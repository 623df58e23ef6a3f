import { offerRefusal, sessionTimerHeaders } from '../../gateway/media-session';
import { FakeRequest, type FakeDialog, type FakeResponse } from '../fakes/drachtio';
import { FREESWITCH_OFFER } from '../fakes/freeswitch';
import { CALLER_OFFER, JIGASI_1, errorsLogged, expectCleanTeardown, gatewayTimersAlive, harness, inConference, sdp, until, type InConference } from './harness';

/**
 * What carriers and PBXs send during a call (media-session.ts): the end-to-end suite's interop
 * group plays each on the real servers; here the fakes show what reaches FreeSWITCH's endpoint,
 * what the caller is answered, and the races.
 */

const tick = async () => new Promise((resolve) => setImmediate(resolve));
const answered = async (res: FakeResponse) => until(() => res.finalResponseSent, 'the answer to the caller');

async function hangUp(c: InConference): Promise<void> {
  c.h.srf.uasDialogs[0]!.receiveBye();
  await c.done;
  expectCleanTeardown(c.h);
  expect(gatewayTimersAlive()).toEqual([]);
  await c.h.close();
}

const callerDialog = (c: InConference): FakeDialog => c.h.srf.uasDialogs[0]!;

describe('offers a caller may send', () => {
  it.each([
    ['G.711 as trunks send it', sdp({ port: 30000, version: 2 }), undefined],
    ['G.722 alone (static payload type 9, no rtpmap needed)', sdp({ port: 30000, version: 2, codecs: [[9, 'G722/8000']] }).replace(/a=rtpmap:9 .*\r\n/, ''), undefined],
    ['opus (a dynamic payload type, its name in any case)', sdp({ port: 30000, version: 2, codecs: [[111, 'OPUS/48000/2']] }), undefined],
    ['only codecs FreeSWITCH lacks', sdp({ port: 30000, version: 2, codecs: [[98, 'X-NO-SUCH-CODEC/8000'], [18, 'G729/8000']] }), 'none of the codecs FreeSWITCH has (pcma, pcmu, g722, opus)'],
    ['only G.729 by its static payload type', sdp({ port: 30000, version: 2, codecs: [[18, 'G729/8000']] }).replace(/a=rtpmap:18 .*\r\n/, ''), 'none of the codecs FreeSWITCH has (pcma, pcmu, g722, opus)'],
    ['T.38 instead of audio', sdp({ port: 30000, version: 2, t38: true }), 'a fax (T.38) stream, which the gateway does not carry'],
    ['T.38 beside audio', `${sdp({ port: 30000, version: 2 })}m=image 30002 udptl t38\r\n`, 'a fax (T.38) stream, which the gateway does not carry'],
    ['audio switched off (port 0)', sdp({ port: 30000, version: 2 }).replace('m=audio 30000', 'm=audio 0'), 'no audio stream'],
    ['telephone-event alone', sdp({ port: 30000, version: 2, codecs: [] }), 'none of the codecs FreeSWITCH has (pcma, pcmu, g722, opus)'],
    ['comfort noise and telephone-event alone', sdp({ port: 30000, version: 2, codecs: [[13, 'CN/8000']] }), 'none of the codecs FreeSWITCH has (pcma, pcmu, g722, opus)'],
    ['no SDP at all', 'hello', 'no audio stream'],
  ])('%s', (_what, offer, refusal) => {
    expect(offerRefusal(offer, ['pcma', 'pcmu', 'g722', 'opus'])).toBe(refusal);
  });
});

describe('session timers in our answers (RFC 4028 §9)', () => {
  const request = (headers: Record<string, string>) => new FakeRequest('UPDATE', headers);
  it.each([
    [{ 'Session-Expires': '1800;refresher=uac', Supported: 'timer' }, { 'Session-Expires': '1800;refresher=uac', Require: 'timer' }],
    [{ 'Session-Expires': '1800', Supported: '100rel, timer' }, { 'Session-Expires': '1800;refresher=uac', Require: 'timer' }],
    [{ 'Session-Expires': '1800' }, { 'Session-Expires': '1800;refresher=uas' }],
    [{ 'Session-Expires': '1800; refresher=UAS', Supported: 'timer' }, { 'Session-Expires': '1800;refresher=uas' }],
    [{ Supported: 'timer' }, {}],
    [{ 'Session-Expires': 'soon' }, {}],
  ])('%j is answered with %j', (headers, expected) => {
    expect(sessionTimerHeaders(request(headers))).toEqual(expected);
  });
});

describe('the 200 OK to an INVITE that asks for a session timer', () => {
  it('says the caller refreshes, with Require: timer (drachtio-server alone leaves it out)', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200 }] });
    const { res, done } = h.invite({ headers: { 'Session-Expires': '90;refresher=uac', Supported: 'timer', 'Min-SE': '90' } });
    await until(() => h.srf.uasDialogs.length > 0, 'the 200 OK');
    expect(res.final).toMatchObject({ status: 200, headers: { 'Session-Expires': '90;refresher=uac', Require: 'timer' } });
    h.srf.uasDialogs[0]!.receiveBye();
    await done;
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('an INVITE whose session timer is shorter than 90 s', () => {
  it('gets 422 with Min-SE: 90 and no call record (drachtio-server would stretch it to 90 s without saying so)', async () => {
    const h = await harness();
    const { res, done } = h.invite({ headers: { 'Session-Expires': '60', Supported: 'timer' } });
    await done;
    expect(res.final).toEqual({ status: 422, headers: { 'Min-SE': '90' } });
    expect(h.media.endpoints).toEqual([]);
    expect(await h.store.listCallRecords(10)).toEqual([]);
    await h.close();
  });
});

describe('the codecs towards Jigasi', () => {
  it('offers Jigasi Opus first for a G.722 caller, G.711 first for a G.711 caller', async () => {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200 }] });
    const pin = await h.directory.createPin('rat', {}, 'test');
    const cases: Array<[[number, string], string]> = [
      [[9, 'G722/8000'], '102'],
      [[8, 'PCMA/8000'], '8'],
    ];
    for (const [codec, first] of cases) {
      const { done } = h.invite({ body: sdp({ port: 30000, version: 1, codecs: [codec] }) });
      await until(() => h.srf.uasDialogs.length > h.srf.invitesSent.length, 'the 200 OK');
      h.media.endpoints.find((endpoint) => endpoint.holdsEntry)!.pressKeys(`${pin.pin}#`);
      await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
      expect(/^m=audio \d+ RTP\/AVP (\d+)/m.exec(h.srf.invitesSent.at(-1)!.options.localSdp!)?.[1]).toBe(first);
      h.srf.uasDialogs.at(-1)!.receiveBye();
      await done;
    }
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('a caller whose INVITE carries no SDP (a delayed offer)', () => {
  async function delayedOffer(answerInAckWithinMs?: number) {
    const h = await harness({}, { [JIGASI_1]: [{ status: 200 }] });
    if (answerInAckWithinMs !== undefined) h.timing = { ...h.timing, answerInAckWithinMs };
    const pin = await h.directory.createPin('rat', {}, 'test');
    const call = h.invite({ body: '' });
    await until(() => h.srf.uasDialogs.length > 0, 'the 200 OK');
    return { h, pin: pin.pin, ...call, caller: h.media.endpoints[0]!, dialog: h.srf.uasDialogs[0]! };
  }

  it("gets FreeSWITCH's offer, and the ACK's answer reaches FreeSWITCH before anything is bridged", async () => {
    const { h, pin, caller, dialog, done } = await delayedOffer();
    expect(caller.remoteSdp).toBeUndefined();
    expect(dialog.local.sdp).toBe(FREESWITCH_OFFER);
    caller.pressKeys(`${pin}#`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.srf.invitesSent).toEqual([]);
    expect(h.registry.list()[0]!.state).toBe('answering');

    const answer = sdp({ port: 40000, version: 1 });
    dialog.receiveAck(answer);
    await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
    expect(caller.modified).toEqual([answer]);
    expect(caller.bridgedWith).toBeDefined();
    dialog.receiveBye();
    await done;
    expectCleanTeardown(h);
    expect(gatewayTimersAlive()).toEqual([]);
    await h.close();
  });

  it.each([
    ['an ACK without SDP', (dialog: FakeDialog) => dialog.receiveAck()],
    ['no ACK at all', () => undefined],
  ])('%s: the call ends as media-failed, nothing bridged', async (_what, ack) => {
    const { h, call, caller, dialog, done } = await delayedOffer(200);
    ack(dialog);
    await done;
    expect(caller.modified).toEqual([]);
    expect(h.srf.invitesSent).toEqual([]);
    expect((await h.record(call.id))?.outcome).toBe('media-failed');
    expect(h.logs.text).toMatch(/no SDP answer in the ACK of a delayed offer/);
    expect(dialog.byesSent).toBe(1);
    expectCleanTeardown(h);
    expect(gatewayTimersAlive()).toEqual([]);
    await h.close();
  });

  it('hangs up while the gateway waits for the ACK: no timer stays, nothing is left', async () => {
    const { h, call, dialog, done } = await delayedOffer();
    dialog.receiveBye();
    await done;
    expect((await h.record(call.id))?.outcome).toBe('answered-no-pin');
    expectCleanTeardown(h);
    expect(gatewayTimersAlive()).toEqual([]);
    await h.close();
  });

  it('an answer in the ACK FreeSWITCH cannot take (no common codec) ends the call as media-failed', async () => {
    const { h, call, caller, dialog, done } = await delayedOffer();
    caller.modifyAnswer = 'audio-off';
    const answer = sdp({ port: 40000, version: 1, codecs: [[98, 'X-NO-SUCH-CODEC/8000']] });
    dialog.receiveAck(answer);
    await done;
    expect(caller.modified).toEqual([answer]);
    expect(h.logs.text).toMatch(/FreeSWITCH refused the caller's answer/);
    expect((await h.record(call.id))?.outcome).toBe('media-failed');
    expectCleanTeardown(h);
    await h.close();
  });
});

describe('a long call: what the caller side sends, answered as RFC 3261/3264/4028 say', () => {
  it("holds (a=sendonly): FreeSWITCH gets the offer and its answer goes back with the session timer; the call stays bridged", async () => {
    const c = await inConference();
    const hold = sdp({ port: 30000, version: 2, direction: 'sendonly' });
    const res = callerDialog(c).receiveReInvite(hold, { 'Session-Expires': '1800;refresher=uac', Supported: 'timer' });
    await answered(res);
    expect(c.caller.modified).toEqual([hold]);
    expect(res.final).toEqual({ status: 200, headers: { 'Content-Type': 'application/sdp', 'Session-Expires': '1800;refresher=uac', Require: 'timer' }, body: `v=0 fs-answer-to(${hold})` });
    expect(c.h.registry.list()[0]!.state).toBe('bridged');
    expect(c.caller.bridgedWith).toBeDefined();
    await hangUp(c);
  });

  it('a session refresh (the same SDP, a new origin version) is answered with our last SDP, without bothering FreeSWITCH', async () => {
    const c = await inConference();
    const res = callerDialog(c).receiveReInvite(CALLER_OFFER.replace('4711 1 IN', '4711 2 IN'));
    await answered(res);
    expect(res.final).toMatchObject({ status: 200, body: c.caller.sdpAtCreation });
    expect(c.caller.modified).toEqual([]);
    await hangUp(c);
  });

  it('media moved to another address: FreeSWITCH gets it; the next change is answered with its newer SDP', async () => {
    const c = await inConference();
    const moved = sdp({ port: 31000, version: 2, address: '192.0.2.99' });
    const first = callerDialog(c).receiveReInvite(moved);
    await answered(first);
    expect(first.final?.body).toBe(`v=0 fs-answer-to(${moved})`);
    const refresh = callerDialog(c).receiveReInvite(moved.replace('4711 2 IN', '4711 3 IN'));
    await answered(refresh);
    expect(refresh.final?.body).toBe(`v=0 fs-answer-to(${moved})`);
    expect(c.caller.modified).toEqual([moved]);
    await hangUp(c);
  });

  it('T.38 is refused with 488 before FreeSWITCH sees it; the call goes on', async () => {
    const c = await inConference();
    const res = callerDialog(c).receiveReInvite(sdp({ port: 30000, version: 2, t38: true }));
    await answered(res);
    expect(res.finalStatus).toBe(488);
    expect(c.caller.modified).toEqual([]);
    expect(c.h.registry.list()[0]!.state).toBe('bridged');
    await hangUp(c);
  });

  it('only codecs FreeSWITCH lacks (FREESWITCH_CODECS): 488 before FreeSWITCH sees it', async () => {
    const c = await inConference();
    const res = callerDialog(c).receiveReInvite(sdp({ port: 30000, version: 2, codecs: [[18, 'G729/8000']] }));
    await answered(res);
    expect(res.finalStatus).toBe(488);
    expect(c.caller.modified).toEqual([]);
    await hangUp(c);
  });

  it.each([
    ['answers 488', 488 as const],
    ['turns its audio off (200 with m=audio 0)', 'audio-off' as const],
  ])('FreeSWITCH that %s anyway: 488 to the caller, an error for the operator, and the call ends (its channel carries no audio after that)', async (_what, refusal) => {
    const c = await inConference();
    c.caller.modifyAnswer = refusal;
    const offer = sdp({ port: 30000, version: 2, codecs: [[0, 'PCMU/8000']] });
    const res = callerDialog(c).receiveReInvite(offer);
    await c.done;
    expect(res.finalStatus).toBe(488);
    expect(c.caller.modified).toEqual([offer]);
    expect(errorsLogged(c.h).join('\n')).toMatch(/FreeSWITCH refused an offer the gateway let through/);
    expect(callerDialog(c).byesSent).toBe(1);
    expect(c.jigasi.byesSent).toBe(1);
    expect((await c.h.record(c.callId))?.outcome).toBe('completed');
    expectCleanTeardown(c.h);
    expect(gatewayTimersAlive()).toEqual([]);
    await c.h.close();
  });

  it('a re-INVITE without SDP gets our SDP as the offer; the answer in its ACK reaches FreeSWITCH when it changed something', async () => {
    const c = await inConference();
    const first = callerDialog(c).receiveReInvite('');
    expect(first.final).toMatchObject({ status: 200, body: c.caller.sdpAtCreation });
    callerDialog(c).receiveAck(CALLER_OFFER.replace('4711 1 IN', '4711 2 IN'));
    await tick();
    await tick();
    expect(c.caller.modified).toEqual([]);
    const second = callerDialog(c).receiveReInvite('');
    const moved = sdp({ port: 32000, version: 3 });
    callerDialog(c).receiveAck(moved);
    await until(() => c.caller.modified.length === 1, 'the answer passed to FreeSWITCH');
    expect(second.finalStatus).toBe(200);
    expect(c.caller.modified).toEqual([moved]);
    await hangUp(c);
  });

  it('UPDATE without a body is a refresh: 200, with the session timer when asked; with SDP it is an offer like a re-INVITE', async () => {
    const c = await inConference();
    const refresh = await callerDialog(c).receiveUpdate('', { 'Session-Expires': '90;refresher=uac', Supported: 'timer' });
    expect(refresh.final).toEqual({ status: 200, headers: { 'Session-Expires': '90;refresher=uac', Require: 'timer' } });
    const hold = sdp({ port: 30000, version: 2, direction: 'inactive' });
    const offer = await callerDialog(c).receiveUpdate(hold);
    await answered(offer);
    expect(offer.final).toMatchObject({ status: 200, body: `v=0 fs-answer-to(${hold})` });
    expect(c.caller.modified).toEqual([hold]);
    await hangUp(c);
  });

  it('an offer while FreeSWITCH still answers the last one waits (500, Retry-After 1–10 s); one while our offer waits for its ACK is a glare (491)', async () => {
    const c = await inConference();
    let release!: () => void;
    c.caller.modifyGate = new Promise((resolve) => (release = resolve));
    const first = callerDialog(c).receiveReInvite(sdp({ port: 30000, version: 2, direction: 'sendonly' }));
    await tick();
    const second = callerDialog(c).receiveReInvite(sdp({ port: 30000, version: 3 }));
    expect(second.final?.status).toBe(500);
    expect(Number(second.final?.headers?.['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(Number(second.final?.headers?.['Retry-After'])).toBeLessThanOrEqual(10);
    const update = await callerDialog(c).receiveUpdate(sdp({ port: 30000, version: 3 }));
    expect(update.finalStatus).toBe(500);
    release();
    await answered(first);
    expect(first.finalStatus).toBe(200);
    c.caller.modifyGate = undefined;

    callerDialog(c).receiveReInvite('');
    const glare = callerDialog(c).receiveReInvite(sdp({ port: 30000, version: 4 }));
    expect(glare.finalStatus).toBe(491);
    callerDialog(c).receiveAck(sdp({ port: 30000, version: 4 }));
    await until(() => c.caller.modified.length === 2, 'the ACK answer');
    await hangUp(c);
  });

  it('an UPDATE offer while FreeSWITCH still answers the last UPDATE waits too (500, Retry-After 1–10 s), and the first is answered', async () => {
    const c = await inConference();
    let release!: () => void;
    c.caller.modifyGate = new Promise((resolve) => (release = resolve));
    const first = await callerDialog(c).receiveUpdate(sdp({ port: 30000, version: 2, direction: 'sendonly' }));
    await tick();
    const second = await callerDialog(c).receiveUpdate(sdp({ port: 30000, version: 3 }));
    expect(second.answeredByApp).toBe(true);
    expect(second.final?.status).toBe(500);
    expect(Number(second.final?.headers?.['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(Number(second.final?.headers?.['Retry-After'])).toBeLessThanOrEqual(10);
    release();
    await answered(first);
    expect(first.finalStatus).toBe(200);
    c.caller.modifyGate = undefined;
    await hangUp(c);
  });

  it('the caller hangs up while FreeSWITCH answers its offer: 481 to the offer, a clean end, no timer left', async () => {
    const c = await inConference();
    c.caller.modifyGate = new Promise(() => undefined);
    const res = callerDialog(c).receiveReInvite(sdp({ port: 30000, version: 2, direction: 'sendonly' }));
    await tick();
    callerDialog(c).receiveBye();
    await c.done;
    expect(res.finalStatus).toBe(481);
    expectCleanTeardown(c.h);
    expect(gatewayTimersAlive()).toEqual([]);
    await c.h.close();
  });

  it("FreeSWITCH's channel gone while it answers an offer: 481 to the offer, the call ends", async () => {
    const c = await inConference();
    let release!: () => void;
    c.caller.modifyGate = new Promise((resolve) => (release = resolve));
    const res = callerDialog(c).receiveReInvite(sdp({ port: 30100, version: 2 }));
    await tick();
    c.caller.hangUpFromFreeswitch();
    release();
    await c.done;
    expect(res.finalStatus).toBe(481);
    expect((await c.h.record(c.callId))?.outcome).toBe('completed');
    expectCleanTeardown(c.h);
    await c.h.close();
  });

  it('a listener on the shared leg is held and resumed the same way', async () => {
    const c = await inConference('listener', { listeners: 'shared' });
    const hold = sdp({ port: 30000, version: 2, direction: 'sendonly' });
    const res = callerDialog(c).receiveReInvite(hold);
    await answered(res);
    expect(res.finalStatus).toBe(200);
    expect(c.caller.modified).toEqual([hold]);
    expect(c.h.registry.list().find((call) => call.role === 'listener')?.state).toBe('bridged');
    callerDialog(c).receiveBye();
    await c.done;
    // the shared leg ends after its grace period, once its last listener left
    await until(() => c.h.registry.size === 0 && gatewayTimersAlive().length === 0, 'the shared leg to end');
    expectCleanTeardown(c.h);
    await c.h.close();
  });
});
