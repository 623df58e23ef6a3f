/**
 * Room names as Jitsi Meet forms them: decoded once, NFKC, lower-case (jitsi-meet's
 * getBackendSafeRoomName without its final re-encoding). We keep the readable form and
 * encode only when talking to Jigasi.
 */

const ROOM_NAME_MAX_LENGTH = 128;

export type RoomNameResult =
  | { ok: true; room: string }
  | { ok: false; problem: 'invalid' | 'foreign-domain'; message: string };

const ALLOWED = /^[\p{L}\p{N}\p{M}_.-]+$/u;

export function normaliseRoomName(input: string, mucDomain: string): RoomNameResult {
  const normalised = safeDecode(input).normalize('NFKC').toLowerCase();
  const parts = normalised.split('@');
  if (parts.length > 2) return invalid('a room name may contain at most one "@" (room@muc-domain)');
  const [room = '', domain] = parts;
  if (domain !== undefined && domain !== mucDomain) {
    return { ok: false, problem: 'foreign-domain', message: `this gateway serves rooms of ${mucDomain}, not of "${domain}"` };
  }
  if (room === '') return invalid('the room name is empty');
  if ([...room].length > ROOM_NAME_MAX_LENGTH) return invalid(`the room name is longer than ${ROOM_NAME_MAX_LENGTH} characters`);
  if (!ALLOWED.test(room)) return invalid('a room name may contain letters, digits, "-", "_" and "." only');
  if (room.startsWith('.') || room.includes('..')) return invalid('a room name may not start with "." or contain ".."');
  return { ok: true, room };
}

/** The MUC address Jigasi must join: the name encoded as Jitsi Meet encodes it, lower-case escapes included. */
export function roomJid(room: string, mucDomain: string): string {
  return `${encodeURIComponent(room).toLowerCase()}@${mucDomain}`;
}

function invalid(message: string): RoomNameResult {
  return { ok: false, problem: 'invalid', message };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
