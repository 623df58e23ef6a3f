/**
 * Room names as Jitsi Meet forms them: decoded once, NFKC, lower-case (jitsi-meet's
 * getBackendSafeRoomName without its final re-encoding). We keep the readable form and
 * encode only when talking to Jigasi. Names that look like another one are refused: letters of
 * scripts that do not belong together (a Cyrillic "а" in a Latin name) and characters nobody
 * sees (default-ignorable code points such as U+034F, U+FE0F, U+3164, U+115F).
 */

const ROOM_NAME_MAX_LENGTH = 128;

export type RoomNameResult =
  | { ok: true; room: string }
  | { ok: false; problem: 'invalid' | 'foreign-domain'; message: string };

const ALLOWED = /^[\p{L}\p{N}\p{M}_.-]+$/u;
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u;

const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Georgian', 'Hebrew', 'Arabic', 'Devanagari', 'Thai', 'Hangul', 'Han', 'Hiragana', 'Katakana', 'Bopomofo'];
const SCRIPT_PATTERNS = SCRIPTS.map((script) => [script, new RegExp(`\\p{Script=${script}}`, 'u')] as const);
/** Scripts one language writes together. */
const WRITTEN_TOGETHER = [new Set(['Han', 'Hiragana', 'Katakana']), new Set(['Han', 'Hangul']), new Set(['Han', 'Bopomofo'])];

function scriptsOfLetters(room: string): Set<string> {
  const scripts = new Set<string>();
  for (const character of room) {
    if (!/\p{L}/u.test(character)) continue;
    // Letters of the scripts not listed count as one script: a name written in one of them is
    // fine, mixed with a listed one it is refused.
    scripts.add(SCRIPT_PATTERNS.find(([, pattern]) => pattern.test(character))?.[0] ?? 'other');
  }
  return scripts;
}

function mixesScripts(room: string): boolean {
  const scripts = scriptsOfLetters(room);
  return scripts.size > 1 && !WRITTEN_TOGETHER.some((group) => [...scripts].every((script) => group.has(script)));
}

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
  if (INVISIBLE.test(room)) return invalid('a room name may not contain invisible characters');
  if (!ALLOWED.test(room)) return invalid('a room name may contain letters, digits, "-", "_" and "." only');
  if (mixesScripts(room)) return invalid('a room name may not mix letters of different scripts (e.g. Latin and Cyrillic), which lets names look alike');
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
