/**
 * Jigasi's JSON SIP INFO messages (jigasi SipInfoJsonProtocol, AudioModeration): mute
 * requests and responses ({type, data:{audio}, id, status}) and numbered notifications
 * ({i, t, d}: t=3 lobby joined … t=11 heartbeat, t=15 call is live). Pure parsing and building.
 */

export const HEARTBEAT_TYPE = 11;
/** Notification types Jigasi sends (SipInfoJsonProtocol.MESSAGE_TYPE). */
export const LOBBY_JOINED = 3;
export const LOBBY_LEFT = 5;
export const LOBBY_ALLOWED = 6;
export const LOBBY_REJECTED = 7;

export type JigasiMessage =
  | { kind: 'mute-request'; id: string; audio: boolean }
  | { kind: 'mute-response'; id: string; audio: boolean; ok: boolean }
  | { kind: 'heartbeat' }
  | { kind: 'notification'; type: number };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The message in an INFO body, or undefined when it is not JSON or not one we know. */
export function parseJigasiInfo(contentType: string | undefined, body: string | undefined): JigasiMessage | undefined {
  if (!contentType?.toLowerCase().startsWith('application/json') || !body) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(json)) return undefined;
  const audio = isObject(json.data) ? json.data.audio : undefined;
  if ((json.type === 'muteRequest' || json.type === 'muteResponse') && typeof json.id === 'string' && json.id !== '' && typeof audio === 'boolean') {
    return json.type === 'muteRequest'
      ? { kind: 'mute-request', id: json.id, audio }
      : { kind: 'mute-response', id: json.id, audio, ok: json.status === 'OK' };
  }
  if (json.t === HEARTBEAT_TYPE) return { kind: 'heartbeat' };
  if (typeof json.t === 'number') return { kind: 'notification', type: json.t };
  return undefined;
}

export function muteRequestBody(id: string, audio: boolean): string {
  return JSON.stringify({ type: 'muteRequest', data: { audio }, id });
}

export function muteResponseBody(id: string, audio: boolean, ok: boolean): string {
  return JSON.stringify({ type: 'muteResponse', status: ok ? 'OK' : 'FAILED', data: { audio }, id });
}

export const HEARTBEAT_BODY = JSON.stringify({ t: HEARTBEAT_TYPE });
