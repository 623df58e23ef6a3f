import type { CallScope } from './call-scope';
import { keypadEntry } from './pin-entry';
import type { PromptSet } from './prompts';
import type { MediaEndpoint } from './sip';

/**
 * A locked room whose password the gateway lacks, or has wrong: Jigasi cannot join it and refuses
 * the INVITE with 486 (jigasi JvbConference#joinConferenceRoom; seen on the real Jigasi, which
 * never asks for a password by SIP INFO). The caller types the password (numeric passwords only)
 * and the gateway INVITEs Jigasi again with it.
 */

const MAX_ROOM_PASSWORD_DIGITS = 32;

/** The digits the caller typed, or undefined when it typed none. The first ask explains, later ones say the last was wrong. */
export async function askForRoomPassword(caller: MediaEndpoint, scope: CallScope, prompts: PromptSet, earlierAsks: number): Promise<string | undefined> {
  const prompt = prompts.file(earlierAsks === 0 ? 'enter-room-password' : 'invalid-room-password');
  const entry = await scope.guard(caller.playCollect(keypadEntry(prompt, MAX_ROOM_PASSWORD_DIGITS, '^\\d+$', 'dialin_room_password')));
  await scope.guard(caller.command('uuid_flush_dtmf', caller.uuid));
  return entry.digits || undefined;
}
