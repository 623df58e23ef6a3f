import { HEARTBEAT_BODY, muteResponseBody } from '../../gateway/jigasi-info';
import { errorsLogged, expectCleanTeardown, inConference, infosTo, until, type InConference } from './harness';

/** In the conference (SPEC §4 step 8): *6, *1, listeners, and Jigasi's JSON INFO messages. */

const muted = (c: InConference) => c.h.registry.list()[0]!.muted;

async function hangUp(c: InConference): Promise<void> {
  c.h.srf.uasDialogs[0]!.receiveBye();
  await c.done;
  expectCleanTeardown(c.h);
  await c.h.close();
}

describe('a speaker in the conference', () => {
  it('mutes with *6: FreeSWITCH drops the audio, the caller hears "muted", Jigasi is told', async () => {
    const c = await inConference();
    c.caller.pressKeys('*6');
    await until(() => c.caller.displaced.length === 1, 'the "muted" prompt');
    expect(c.caller.readMuted).toBe(true);
    expect(c.caller.displaced).toEqual(['/prompts/de/muted.wav']);
    expect(muted(c)).toBe(true);
    await until(() => infosTo(c.jigasi).length === 1, 'the muteRequest to Jigasi');
    expect(infosTo(c.jigasi)[0]).toEqual({ type: 'muteRequest', data: { audio: true }, id: expect.any(String) });
    expect(c.jigasi.requests[0]!.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(c.caller.bridgedWith).toBeDefined();
    await hangUp(c);
  });

  it('stays muted when Jigasi refuses the unmute (moderation), and unmutes when it agrees', async () => {
    const c = await inConference();
    c.caller.pressKeys('*6');
    await until(() => c.caller.displaced.length === 1, 'the "muted" prompt');

    c.caller.pressKeys('*6');
    await until(() => infosTo(c.jigasi).length === 2, 'the unmute request');
    const refused = infosTo(c.jigasi)[1];
    expect(refused).toMatchObject({ type: 'muteRequest', data: { audio: false } });
    expect(await c.jigasi.receiveInfo('application/json', muteResponseBody(refused!.id, false, false))).toMatchObject({ finalStatus: 200, answeredByApp: true });
    await until(() => c.caller.displaced.length === 2, 'the refusal prompt');
    expect(c.caller.displaced[1]).toBe('/prompts/de/moderator-must-unmute.wav');
    expect(c.caller.readMuted).toBe(true);
    expect(muted(c)).toBe(true);

    c.caller.pressKeys('*6');
    await until(() => infosTo(c.jigasi).length === 3, 'the second unmute request');
    await c.jigasi.receiveInfo('application/json', muteResponseBody(infosTo(c.jigasi)[2]!.id, false, true));
    await until(() => c.caller.displaced.length === 3, 'the "unmuted" prompt');
    expect(c.caller.readMuted).toBe(false);
    expect(c.caller.displaced[2]).toBe('/prompts/de/unmuted.wav');
    expect(muted(c)).toBe(false);
    await hangUp(c);
  });

  it('a prompt FreeSWITCH refuses to mix in (-ERR) is a warning, and the call goes on', async () => {
    const c = await inConference();
    c.caller.refuse('uuid_displace', '-ERR Cannot open file');
    c.caller.pressKeys('*1');
    await until(() => /"level":40.*"reply":"-ERR Cannot open file".*FreeSWITCH did not play an in-conference prompt/.test(c.h.logs.text), 'the warning');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.h.registry.list()[0]!.state).toBe('bridged');
    expect(errorsLogged(c.h)).toEqual([]);
    await hangUp(c);
  });

  it('hears the help with *1; other keys do nothing and never reach Jigasi as requests', async () => {
    const c = await inConference();
    c.caller.pressKeys('1234#9*1');
    await until(() => c.caller.displaced.length === 1, 'the help prompt');
    expect(c.caller.displaced).toEqual(['/prompts/de/help.wav']);
    expect(c.jigasi.requests).toEqual([]);
    expect(c.caller.readMuted).toBe(false);
    await hangUp(c);
  });

  it('can use *6 by SIP INFO too', async () => {
    const c = await inConference();
    const dialog = c.h.srf.uasDialogs[0]!;
    await dialog.receiveInfo('application/dtmf-relay', 'Signal=*\r\nDuration=160');
    await dialog.receiveInfo('application/dtmf-relay', 'Signal=6\r\nDuration=160');
    await until(() => c.caller.readMuted, 'the mute');
    // In the conference a SIP INFO key is the conference's alone: passed to FreeSWITCH as well, it
    // would reach the caller's channel as a second key press.
    expect(c.caller.commands.filter((command) => command.name === 'uuid_recv_dtmf')).toEqual([]);
    await hangUp(c);
  });
});

describe('an administrator in the console (PATCH /api/v1/calls/{id})', () => {
  it('mutes a speaker as a moderator would: FreeSWITCH drops the audio, the caller hears it, Jigasi is told', async () => {
    const c = await inConference();
    expect(await c.h.registry.setMuted(c.callId, true)).toBe('muted');
    expect(c.caller.readMuted).toBe(true);
    expect(muted(c)).toBe(true);
    await until(() => c.caller.displaced.length === 1 && infosTo(c.jigasi).length === 1, 'the prompt and the muteRequest');
    expect(c.caller.displaced).toEqual(['/prompts/de/moderator-muted.wav']);
    expect(infosTo(c.jigasi)[0]).toMatchObject({ type: 'muteRequest', data: { audio: true } });
    await hangUp(c);
  });

  it('unmutes only when Jitsi agrees, and says so when it does not', async () => {
    const c = await inConference();
    await c.h.registry.setMuted(c.callId, true);
    await until(() => infosTo(c.jigasi).length === 1, 'the muteRequest');

    const refused = c.h.registry.setMuted(c.callId, false);
    await until(() => infosTo(c.jigasi).length === 2, 'the unmute request');
    await c.jigasi.receiveInfo('application/json', muteResponseBody(infosTo(c.jigasi)[1]!.id, false, false));
    expect(await refused).toBe('refused-by-jitsi');
    expect(c.caller.readMuted).toBe(true);

    const agreed = c.h.registry.setMuted(c.callId, false);
    await until(() => infosTo(c.jigasi).length === 3, 'the second unmute request');
    await c.jigasi.receiveInfo('application/json', muteResponseBody(infosTo(c.jigasi)[2]!.id, false, true));
    expect(await agreed).toBe('unmuted');
    expect(c.caller.readMuted).toBe(false);
    expect(muted(c)).toBe(false);
    await until(() => c.caller.displaced.length === 2, 'the "unmuted" prompt');
    expect(c.caller.displaced[1]).toBe('/prompts/de/unmuted.wav');
    await hangUp(c);
  });

  it('tells the truth when FreeSWITCH refuses the mute: not muted, Jigasi not told', async () => {
    const c = await inConference();
    c.caller.refuse('uuid_audio');
    expect(await c.h.registry.setMuted(c.callId, true)).toBe('refused-by-freeswitch');
    expect(muted(c)).toBe(false);
    expect(c.jigasi.requests).toEqual([]);
    await hangUp(c);
  });

  it('never unmutes a listener; a call not (or no longer) in the conference is said to be so', async () => {
    const c = await inConference('listener');
    expect(await c.h.registry.setMuted(c.callId, false)).toBe('listener');
    expect(c.caller.readMuted).toBe(true);
    expect(await c.h.registry.setMuted('no-such-call', true)).toBe('not-found');
    await hangUp(c);
    expect(await c.h.registry.setMuted(c.callId, true)).toBe('not-found');
  });
});

describe('a listener', () => {
  it('is muted before the bridge and for the whole call; *6 only explains why', async () => {
    const c = await inConference('listener');
    expect(c.caller.readMuted).toBe(true);
    // Muted before the bridge: the room never hears the first moments of a listener.
    const commandNames = c.caller.commands.map((command) => command.name);
    expect(commandNames.indexOf('uuid_audio')).toBeGreaterThanOrEqual(0);
    expect(commandNames.indexOf('uuid_audio')).toBeLessThan(commandNames.indexOf('uuid_bridge'));
    expect(muted(c)).toBe(true);
    c.caller.pressKeys('*6');
    await until(() => c.caller.displaced.length === 1, 'the listen-only prompt');
    expect(c.caller.displaced).toEqual(['/prompts/de/listen-only.wav']);
    expect(c.caller.readMuted).toBe(true);
    await until(() => infosTo(c.jigasi).length === 1, 'Jigasi told of the mute');
    expect(infosTo(c.jigasi)[0]).toMatchObject({ type: 'muteRequest', data: { audio: true } });
    await c.jigasi.receiveInfo('application/json', '{"type":"muteRequest","data":{"audio":false},"id":"m9"}');
    await until(() => infosTo(c.jigasi).length === 2, 'the muteResponse');
    expect(infosTo(c.jigasi)[1]).toEqual({ type: 'muteResponse', status: 'FAILED', data: { audio: false }, id: 'm9' });
    expect(c.caller.readMuted).toBe(true);
    await hangUp(c);
  });
});

describe('a room that starts muted', () => {
  it('mutes every caller at the bridge and tells Jigasi; a speaker may unmute with *6', async () => {
    const c = await inConference(undefined, { startMuted: true });
    expect(c.caller.readMuted).toBe(true);
    await until(() => infosTo(c.jigasi).length === 1, 'Jigasi told of the mute');
    expect(infosTo(c.jigasi)[0]).toMatchObject({ type: 'muteRequest', data: { audio: true } });
    c.caller.pressKeys('*6');
    await until(() => infosTo(c.jigasi).length === 2, 'the unmute request');
    await c.jigasi.receiveInfo('application/json', muteResponseBody(infosTo(c.jigasi)[1]!.id, false, true));
    await until(() => !c.caller.readMuted, 'the unmute');
    await hangUp(c);
  });
});

describe('the lobby and password-protected rooms', () => {
  it('tells the caller to wait in the lobby, then that they are in', async () => {
    const c = await inConference();
    await c.jigasi.receiveInfo('application/json', '{"i":0,"t":3}');
    await until(() => c.caller.displaced.length === 1, 'the lobby prompt');
    expect(c.caller.displaced).toEqual(['/prompts/de/lobby-waiting.wav']);
    await c.jigasi.receiveInfo('application/json', '{"i":1,"t":6}');
    await until(() => c.caller.displaced.length === 2, 'the admitted prompt');
    expect(c.caller.displaced[1]).toBe('/prompts/de/lobby-admitted.wav');
    await hangUp(c);
  });

  it('says goodbye and hangs up when a moderator rejects the caller', async () => {
    const c = await inConference();
    await c.jigasi.receiveInfo('application/json', '{"i":0,"t":3}');
    await c.jigasi.receiveInfo('application/json', '{"i":1,"t":7}');
    await c.done;
    expect(c.caller.played.flat().join(' ')).toMatch(/lobby-rejected\.wav.*goodbye\.wav/);
    expect(c.jigasi.byesSent).toBe(1);
    expect(c.h.srf.uasDialogs[0]!.byesSent).toBe(1);
    expectCleanTeardown(c.h);
    expect(await c.h.record(c.callId)).toMatchObject({ outcome: 'completed' });
    await c.h.close();
  });

});

describe("Jigasi's INFO messages", () => {
  it('a moderator mutes the caller: muted in FreeSWITCH, "a moderator muted you", muteResponse OK with the same id', async () => {
    const c = await inConference();
    const response = await c.jigasi.receiveInfo('application/json', '{"type":"muteRequest","data":{"audio":true},"id":"mod-1"}');
    expect(response).toMatchObject({ finalStatus: 200, answeredByApp: true });
    await until(() => infosTo(c.jigasi).length === 1, 'the muteResponse');
    expect(infosTo(c.jigasi)[0]).toEqual({ type: 'muteResponse', status: 'OK', data: { audio: true }, id: 'mod-1' });
    expect(c.caller.readMuted).toBe(true);
    await until(() => c.caller.displaced.length === 1, 'the prompt');
    expect(c.caller.displaced).toEqual(['/prompts/de/moderator-muted.wav']);
    expect(muted(c)).toBe(true);
    await hangUp(c);
  });

  it('a moderator mute FreeSWITCH refuses: Jigasi hears it failed, the caller hears nothing and is not shown muted', async () => {
    const c = await inConference();
    c.caller.refuse('uuid_audio', '-ERR Cannot locate session!');
    await c.jigasi.receiveInfo('application/json', '{"type":"muteRequest","data":{"audio":true},"id":"mod-3"}');
    await until(() => infosTo(c.jigasi).length === 1, 'the muteResponse');
    expect(infosTo(c.jigasi)[0]).toEqual({ type: 'muteResponse', status: 'FAILED', data: { audio: true }, id: 'mod-3' });
    expect(c.caller.readMuted).toBe(false);
    expect(muted(c)).toBe(false);
    expect(c.caller.displaced).toEqual([]);
    await hangUp(c);
  });

  it('handles a mute request while an in-call prompt plays', async () => {
    const c = await inConference();
    await c.jigasi.receiveInfo('application/json', '{"i":0,"t":3}');
    await c.jigasi.receiveInfo('application/json', '{"type":"muteRequest","data":{"audio":true},"id":"mod-2"}');
    await until(() => infosTo(c.jigasi).length === 1, 'the muteResponse');
    expect(infosTo(c.jigasi)[0]).toMatchObject({ type: 'muteResponse', status: 'OK', id: 'mod-2' });
    await until(() => c.caller.displaced.length === 2, 'both prompts');
    expect(c.caller.displaced).toEqual(['/prompts/de/lobby-waiting.wav', '/prompts/de/moderator-muted.wav']);
    expect(c.caller.readMuted).toBe(true);
    await hangUp(c);
  });

  it('answers the heartbeat so the call survives HEARTBEAT_SECONDS', async () => {
    const c = await inConference();
    expect(await c.jigasi.receiveInfo('application/json', '{"t":11}')).toMatchObject({ finalStatus: 200, answeredByApp: true });
    await until(() => c.jigasi.requests.length === 1, 'the heartbeat answer');
    expect(c.jigasi.requests[0]!.body).toBe(HEARTBEAT_BODY);
    await hangUp(c);
  });

  it('answers 200 to malformed, unknown and 100 messages a second without harm', async () => {
    const c = await inConference();
    const bodies = ['{"type":', 'not json', '{"t":99,"d":{}}', '[]', '{"type":"muteRequest"}'];
    for (const body of bodies) expect(await c.jigasi.receiveInfo('application/json', body)).toMatchObject({ finalStatus: 200, answeredByApp: true });
    const many = await Promise.all(Array.from({ length: 100 }, async () => c.jigasi.receiveInfo('application/json', '{"i":1,"t":15,"d":true}')));
    expect(many.every((response) => response.finalStatus === 200 && response.answeredByApp)).toBe(true);
    expect(c.jigasi.requests).toEqual([]);
    expect(c.caller.readMuted).toBe(false);
    expect(c.h.registry.list()[0]!.state).toBe('bridged');
    await hangUp(c);
  });

  it('logs a warning with the status when Jigasi refuses an INFO, and none when it takes it', async () => {
    const c = await inConference();
    await c.jigasi.receiveInfo('application/json', '{"t":11}');
    await until(() => c.jigasi.requests.length === 1, 'the heartbeat echoed');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(c.h.logs.text).not.toMatch(/Jigasi refused an INFO/);
    c.jigasi.requestStatus = 481;
    await c.jigasi.receiveInfo('application/json', '{"t":11}');
    await until(() => /"level":40.*"status":481.*"msg":"Jigasi refused an INFO"/.test(c.h.logs.text), 'the warning');
    expect(c.h.registry.list()[0]!.state).toBe('bridged');
    await hangUp(c);
  });

  it('an INFO whose Jigasi hangs up as it leaves is no warning: the conference is over anyway', async () => {
    const c = await inConference();
    await c.jigasi.receiveInfo('application/json', '{"t":11}');
    // The echo of the heartbeat is on its way; Jigasi's BYE arrives before drachtio answers it.
    expect(c.jigasi.requests).toHaveLength(1);
    c.jigasi.receiveBye();
    await c.done;
    expect(c.h.logs.text).not.toMatch(/INFO to Jigasi failed/);
    expect(await c.h.record(c.callId)).toMatchObject({ outcome: 'completed' });
    expectCleanTeardown(c.h);
    await c.h.close();
  });

  it('an INFO drachtio-server cannot send to Jigasi is a warning, and the call goes on', async () => {
    const c = await inConference();
    c.jigasi.requestsFail = true;
    await c.jigasi.receiveInfo('application/json', '{"t":11}');
    await until(() => /"level":40.*"code":"EDRACHTIO".*"msg":"INFO to Jigasi failed"/.test(c.h.logs.text), 'the warning');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.h.registry.list()[0]!.state).toBe('bridged');
    expect(errorsLogged(c.h)).toEqual([]);
    await hangUp(c);
  });

    it('an INFO after the BYE is answered by drachtio and changes nothing', async () => {
    const c = await inConference();
    c.jigasi.receiveBye();
    await c.done;
    expect(await c.jigasi.receiveInfo('application/json', '{"t":11}')).toMatchObject({ finalStatus: 200, answeredByApp: false });
    expect(c.jigasi.requests).toEqual([]);
    expectCleanTeardown(c.h);
    await c.h.close();
  });
});

describe('what the conference leg does once, or not at all', () => {
  const prompts = (c: InConference) => c.caller.displaced.map((file) => file.replace('/prompts/de/', ''));

  it('an administrator muting a muted caller changes nothing; unmuting an unmuted one neither', async () => {
    const c = await inConference();
    expect(await c.h.registry.setMuted(c.callId, false)).toBe('unmuted');
    expect(await c.h.registry.setMuted(c.callId, true)).toBe('muted');
    expect(await c.h.registry.setMuted(c.callId, true)).toBe('muted');
    await until(() => infosTo(c.jigasi).length === 1, 'the muteRequest');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(prompts(c)).toEqual(['moderator-muted.wav']);
    expect(infosTo(c.jigasi)).toEqual([expect.objectContaining({ type: 'muteRequest', data: { audio: true } })]);
    await hangUp(c);
  });

  it("an administrator's unmute goes ahead when Jigasi never answers the request", async () => {
    const c = await inConference(undefined, undefined, { muteResponseMs: 100 });
    await c.h.registry.setMuted(c.callId, true);
    expect(await c.h.registry.setMuted(c.callId, false)).toBe('unmuted');
    expect(infosTo(c.jigasi).map((info) => info.data)).toEqual([{ audio: true }, { audio: false }]);
    expect(c.caller.readMuted).toBe(false);
    await hangUp(c);
  });

  it('an administrator whose unmute waits for Jigasi while the caller hangs up learns the caller is no longer in the conference', async () => {
    const c = await inConference();
    await c.h.registry.setMuted(c.callId, true);
    const unmute = c.h.registry.setMuted(c.callId, false);
    await until(() => infosTo(c.jigasi).length === 2, 'the unmute request');
    c.h.srf.uasDialogs[0]!.receiveBye();
    expect(await unmute).toBe('not-in-conference');
    await c.done;
    expect(errorsLogged(c.h)).toEqual([]);
    expectCleanTeardown(c.h);
    await c.h.close();
  });

  it('a moderator may mute a listener (already muted) and unmute a speaker, who hears no "muted" then', async () => {
    const listener = await inConference('listener');
    await listener.jigasi.receiveInfo('application/json', '{"type":"muteRequest","data":{"audio":true},"id":"m1"}');
    await until(() => infosTo(listener.jigasi).some((info) => info.id === 'm1'), 'the answer for the listener');
    expect(infosTo(listener.jigasi).find((info) => info.id === 'm1')).toMatchObject({ type: 'muteResponse', status: 'OK' });
    await hangUp(listener);

    const speaker = await inConference();
    await speaker.jigasi.receiveInfo('application/json', '{"type":"muteRequest","data":{"audio":true},"id":"m2"}');
    await until(() => speaker.caller.readMuted, 'the mute');
    await speaker.jigasi.receiveInfo('application/json', '{"type":"muteRequest","data":{"audio":false},"id":"m3"}');
    await until(() => infosTo(speaker.jigasi).some((info) => info.id === 'm3'), 'the answer to the unmute');
    expect(infosTo(speaker.jigasi).find((info) => info.id === 'm3')).toMatchObject({ type: 'muteResponse', status: 'OK', data: { audio: false } });
    expect(speaker.caller.readMuted).toBe(false);
    expect(prompts(speaker)).toEqual(['moderator-muted.wav']);
    await hangUp(speaker);
  });

  it('a muteResponse nobody asked for is ignored', async () => {
    const c = await inConference();
    expect(await c.jigasi.receiveInfo('application/json', muteResponseBody('never-sent', true, true))).toMatchObject({ finalStatus: 200, answeredByApp: true });
    expect(c.h.registry.list()[0]!.state).toBe('bridged');
    expect((await c.h.metrics.unexpectedErrors.get()).values.reduce((sum, { value }) => sum + value, 0)).toBe(0);
    await hangUp(c);
  });

  it('the lobby reminder stops when the caller leaves the lobby', async () => {
    const c = await inConference(undefined, undefined, { lobbyRepeatMs: 30 });
    await c.jigasi.receiveInfo('application/json', '{"i":0,"t":3}');
    await until(() => prompts(c).length >= 2, 'the reminder');
    await c.jigasi.receiveInfo('application/json', '{"i":1,"t":5}');
    const heard = prompts(c).length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(prompts(c)).toHaveLength(heard);
    expect(new Set(prompts(c))).toEqual(new Set(['lobby-waiting.wav']));
    await hangUp(c);
  });

  it('after a rejection, the lobby and keys are over: no reminder, no help over the farewell', async () => {
    const c = await inConference(undefined, undefined, { lobbyRepeatMs: 30 });
    await c.jigasi.receiveInfo('application/json', '{"i":0,"t":7}');
    await c.jigasi.receiveInfo('application/json', '{"i":1,"t":3}');
    c.caller.pressKeys('*1');
    await c.done;
    expect(prompts(c)).toEqual([]);
    expect(c.caller.played.flat().join(' ')).toMatch(/lobby-rejected\.wav.*goodbye\.wav$/);
    expectCleanTeardown(c.h);
    await c.h.close();
  });

});
