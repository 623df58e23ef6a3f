/**
 * npm run prompts — renders prompts/<language>.txt into 8 kHz and 16 kHz mono WAV files with
 * espeak-ng and sox. Run it after editing a text; the results are committed so that nothing
 * needs text-to-speech at run time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROMPT_IDS, PROMPT_SAMPLE_RATES } from '../gateway/prompts';
import { PROMPTS_DIR, readPromptTexts } from './texts';

const VOICES = { de: 'de', en: 'en-gb' } as const;
const WORDS_PER_MINUTE = '150';

function requireTool(tool: string): void {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is needed to render prompts (Debian: apt-get install espeak-ng sox)`);
  }
}

function main(): void {
  requireTool('espeak-ng');
  requireTool('sox');
  const scratch = mkdtempSync(join(tmpdir(), 'dialin-prompts-'));
  try {
    for (const [language, voice] of Object.entries(VOICES)) {
      const texts = readPromptTexts(language);
      const missing = PROMPT_IDS.filter((id) => !texts.has(id));
      const unknown = [...texts.keys()].filter((id) => !(PROMPT_IDS as readonly string[]).includes(id));
      if (missing.length > 0 || unknown.length > 0) {
        throw new Error(`${language}.txt: missing ${missing.join(', ') || 'none'}; unknown ${unknown.join(', ') || 'none'}`);
      }
      for (const id of PROMPT_IDS) {
        const spoken = join(scratch, `${language}-${id}.wav`);
        execFileSync('espeak-ng', ['-v', voice, '-s', WORDS_PER_MINUTE, '-w', spoken, texts.get(id)!]);
        for (const rate of PROMPT_SAMPLE_RATES) {
          const folder = join(PROMPTS_DIR, language, String(rate));
          mkdirSync(folder, { recursive: true });
          // Normalise to -3 dBFS and add 150 ms of silence at the end so prompts do not clip.
          execFileSync('sox', [spoken, '-r', String(rate), '-c', '1', '-b', '16', join(folder, `${id}.wav`), 'norm', '-3', 'pad', '0', '0.15']);
        }
      }
      process.stdout.write(`${language}: ${PROMPT_IDS.length} prompts at ${PROMPT_SAMPLE_RATES.join(' and ')} Hz\n`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  process.stderr.write(`prompts: ${(error as Error).message}\n`);
  process.exit(1);
}
