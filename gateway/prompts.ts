/**
 * Every announcement the gateway plays, by id. The texts live in prompts/<language>.txt and
 * the audio in prompts/<language>/<rate>/<id>.wav; FreeSWITCH (mod_sndfile) picks the rate
 * folder that matches the call, so the gateway names the file without it.
 */
export const PROMPT_IDS = [
  'greeting',
  'enter-pin',
  'no-input',
  'invalid-pin',
  'attempts-exhausted',
  'service-unavailable',
  'not-open',
  'connecting',
  'unreachable',
  'conference-ended',
  'goodbye',
  'muted',
  'unmuted',
  'listen-only',
  'moderator-muted',
  'moderator-must-unmute',
  'help',
  'lobby-waiting',
  'lobby-admitted',
  'lobby-rejected',
  'enter-room-password',
  'invalid-room-password',
] as const;

export type PromptId = (typeof PROMPT_IDS)[number];

export const PROMPT_SAMPLE_RATES = [8000, 16000] as const;

export function promptFile(promptsDir: string, language: string, id: PromptId): string {
  return `${promptsDir}/${language}/${id}.wav`;
}
