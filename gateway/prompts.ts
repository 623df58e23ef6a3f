import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

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
  'service-ending',
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
  'dial-out-invitation',
] as const;

export type PromptId = (typeof PROMPT_IDS)[number];

export const PROMPT_SAMPLE_RATES = [8000, 16000] as const;

/** Where the shipped prompts are, relative to this module both in the sources and in dist/. */
export function builtInPromptsDir(): string {
  const here = __dirname;
  return resolve(here, basename(dirname(here)) === 'dist' ? '../../prompts' : '../prompts');
}

/** A short beep: what a caller hears when an operator's prompt set lacks a file. */
export const FALLBACK_TONE = 'tone_stream://%(300,200,660);loops=1';

/**
 * Prompt ids to what FreeSWITCH plays. Files are checked once at start; a missing one is
 * replaced by a tone and logged, so a broken prompt set degrades instead of failing calls.
 */
export class PromptSet {
  private readonly files = new Map<PromptId, string>();
  readonly missing: PromptId[] = [];

  constructor(promptsDir: string, language: string, exists: (path: string) => boolean = existsSync) {
    for (const id of PROMPT_IDS) {
      const file = `${promptsDir}/${language}/${id}.wav`;
      const present = PROMPT_SAMPLE_RATES.some((rate) => exists(`${promptsDir}/${language}/${rate}/${id}.wav`));
      if (!present) this.missing.push(id);
      this.files.set(id, present ? file : FALLBACK_TONE);
    }
  }

  file(id: PromptId): string {
    return this.files.get(id)!;
  }

  /**
   * Several prompts (and tones) as one FreeSWITCH playback. fsmrf would otherwise run a "set
   * playback_delimiter" application first, and every application costs two events carrying all
   * channel variables.
   */
  playlist(...items: Array<PromptId | `tone_stream://${string}`>): string {
    const files = items.map((item) => (item.startsWith('tone_stream://') ? item : this.file(item as PromptId)));
    return files.length === 1 ? files[0]! : `file_string://${files.join('!')}`;
  }
}
