import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROMPT_IDS, PROMPT_SAMPLE_RATES } from '../../gateway/prompts';
import { PROMPTS_DIR, parsePromptTexts, readPromptTexts } from '../../prompts/texts';

interface WavInfo {
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  seconds: number;
}

/** Reads the RIFF chunks of a WAV file: the fmt chunk and the length of the data chunk. */
function readWav(path: string): WavInfo {
  const file = readFileSync(path);
  if (file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path} is not a RIFF/WAVE file`);
  let offset = 12;
  let fmt: Omit<WavInfo, 'seconds'> | undefined;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      fmt = {
        format: file.readUInt16LE(offset + 8),
        channels: file.readUInt16LE(offset + 10),
        sampleRate: file.readUInt32LE(offset + 12),
        bitsPerSample: file.readUInt16LE(offset + 22),
      };
    }
    if (id === 'data') {
      if (!fmt) throw new Error(`${path}: data chunk before fmt chunk`);
      return { ...fmt, seconds: size / (fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8)) };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${path} has no data chunk`);
}

describe('the prompt set', () => {
  describe.each(['de', 'en'])('%s', (language) => {
    const texts = readPromptTexts(language);

    it('has a text for every prompt the gateway plays, and no others', () => {
      expect([...texts.keys()].sort()).toEqual([...PROMPT_IDS].sort());
    });

    it('names the operator in the greeting', () => {
      expect(texts.get('greeting')).toContain('Samtgemeinde Musterdorf');
      expect(texts.get('greeting')).not.toContain('$');
    });

    const files = PROMPT_IDS.flatMap((id) => PROMPT_SAMPLE_RATES.map((rate) => [id, rate] as const));
    it.each(files)('%s at %i Hz is a mono 16-bit PCM WAV under 15 s', (id, rate) => {
      const wav = readWav(join(PROMPTS_DIR, language, String(rate), `${id}.wav`));
      expect(wav).toMatchObject({ format: 1, channels: 1, sampleRate: rate, bitsPerSample: 16 });
      expect(wav.seconds).toBeGreaterThan(0.3);
      expect(wav.seconds).toBeLessThan(15);
    });
  });

  it('refuses a text file with an undefined variable or a duplicate id', () => {
    expect(() => parsePromptTexts('greeting = Hallo $town', 'x.txt')).toThrow(/x.txt:1: variable \$town/);
    expect(() => parsePromptTexts('goodbye = a\ngoodbye = b', 'x.txt')).toThrow(/x.txt:2: prompt "goodbye" is defined twice/);
    expect(() => parsePromptTexts('just words', 'x.txt')).toThrow(/x.txt:1: expected/);
  });
});
