import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtInPromptsDir } from '../gateway/prompts';

/**
 * Reads prompts/<language>.txt: "id = text" lines, "$name = value" variables used as
 * $name in texts, "#" comments. Pure parsing; the generator and the tests share it.
 */
export function parsePromptTexts(source: string, fileName: string): Map<string, string> {
  const variables = new Map<string, string>();
  const texts = new Map<string, string>();
  source.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(\$?[a-z][a-z0-9-]*)\s*=\s*(.+)$/.exec(line);
    if (!match) throw new Error(`${fileName}:${index + 1}: expected "id = text" or "$variable = value"`);
    const [, key, value] = match as unknown as [string, string, string];
    if (key.startsWith('$')) {
      variables.set(key.slice(1), value);
      return;
    }
    if (texts.has(key)) throw new Error(`${fileName}:${index + 1}: prompt "${key}" is defined twice`);
    texts.set(
      key,
      value.replace(/\$([a-z][a-z0-9-]*)/g, (_whole, name: string) => {
        const replacement = variables.get(name);
        if (replacement === undefined) throw new Error(`${fileName}:${index + 1}: variable $${name} is not defined above`);
        return replacement;
      }),
    );
  });
  return texts;
}

/** prompts/ of the checkout, also when this runs from dist/ (the image's prompt renderer). */
export const PROMPTS_DIR = builtInPromptsDir();

export function readPromptTexts(language: string): Map<string, string> {
  const fileName = `${language}.txt`;
  return parsePromptTexts(readFileSync(join(PROMPTS_DIR, fileName), 'utf8'), fileName);
}
