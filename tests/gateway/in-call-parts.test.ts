import { InCallKeys } from '../../gateway/in-call-keys';
import { HEARTBEAT_BODY, muteRequestBody, muteResponseBody, parseJigasiInfo } from '../../gateway/jigasi-info';

describe("Jigasi's JSON INFO messages", () => {
  it.each([
    ['{"type":"muteRequest","data":{"audio":true},"id":"abc"}', { kind: 'mute-request', id: 'abc', audio: true }],
    ['{"type":"muteResponse","status":"OK","data":{"audio":false},"id":"x1"}', { kind: 'mute-response', id: 'x1', audio: false, ok: true }],
    ['{"type":"muteResponse","status":"FAILED","data":{"audio":false},"id":"x1"}', { kind: 'mute-response', id: 'x1', audio: false, ok: false }],
    ['{"t":11}', { kind: 'heartbeat' }],
    ['{"i":3,"t":3}', { kind: 'notification', type: 3 }],
    ['{"type":"muteRequest","data":{"audio":true}}', undefined],
    ['{"type":"muteRequest","data":{"audio":"yes"},"id":"a"}', undefined],
    ['{"type":', undefined],
    ['[1,2]', undefined],
    ['null', undefined],
    ['{"type":"lobbyRequest","data":{"audio":true},"id":"a"}', undefined],
    ['{"type":"muteRequest","data":{"audio":true},"id":5}', undefined],
    ['{"type":"muteRequest","data":{"audio":true},"id":""}', undefined],
  ])('%s', (body, message) => {
    expect(parseJigasiInfo('application/json', body)).toEqual(message);
  });

  it('reads JSON with a charset parameter, as Jigasi may send it', () => {
    expect(parseJigasiInfo('Application/JSON; charset=UTF-8', '{"t":11}')).toEqual({ kind: 'heartbeat' });
    expect(parseJigasiInfo('application/json', '')).toBeUndefined();
  });

  it('ignores other content types', () => {
    expect(parseJigasiInfo('application/dtmf-relay', '{"t":11}')).toBeUndefined();
    expect(parseJigasiInfo(undefined, '{"t":11}')).toBeUndefined();
  });

  it('builds the messages Jigasi reads back', () => {
    expect(parseJigasiInfo('application/json', muteRequestBody('r1', false))).toEqual({ kind: 'mute-request', id: 'r1', audio: false });
    expect(parseJigasiInfo('application/json', muteResponseBody('r2', true, true))).toEqual({ kind: 'mute-response', id: 'r2', audio: true, ok: true });
    expect(JSON.parse(HEARTBEAT_BODY)).toEqual({ t: 11 });
  });
});

describe('keys during the conference', () => {
  it('knows *6 and *1 within the window, and nothing else', () => {
    const keys = new InCallKeys();
    expect(keys.press('*', 0)).toBeUndefined();
    expect(keys.press('6', 500)).toBe('toggle-mute');
    expect(keys.press('6', 600)).toBeUndefined();
    expect(keys.press('*', 1000)).toBeUndefined();
    expect(keys.press('1', 1100)).toBe('help');
    expect(keys.press('*', 2000)).toBeUndefined();
    expect(keys.press('6', 5001)).toBeUndefined();
    expect(keys.press('*', 6000)).toBeUndefined();
    expect(keys.press('9', 6100)).toBeUndefined();
    expect(keys.press('#', 6200)).toBeUndefined();
  });

  it('takes the command key up to and including 3 s after the star', () => {
    const keys = new InCallKeys();
    keys.press('*', 10_000);
    expect(keys.press('6', 13_000)).toBe('toggle-mute');
    keys.press('*', 20_000);
    expect(keys.press('6', 23_001)).toBeUndefined();
  });
});
