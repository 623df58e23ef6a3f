import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * The README's first code block is what a newcomer types on a fresh clone, in order. Each command
 * must find what it needs in the clone or in what the commands before it made: the files the
 * compose file requires (.env), the variables Compose refuses to start without (":?"), the
 * scripts npm runs and the files those name.
 */

const ROOT = join(__dirname, '..', '..');

interface ComposeService {
  profiles?: string[];
  env_file?: string | Array<string | { path: string; required?: boolean }>;
  build?: string | { context: string };
}

/** What a fresh clone holds: the files git keeps, never what .gitignore leaves out. */
const IGNORED = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n').map((line) => line.trim()).filter(Boolean);
const inFreshClone = (path: string) => !IGNORED.some((pattern) => pattern.replace(/\/$/, '') === path.replace(/^\.\//, '')) && existsSync(join(ROOT, path));

function firstCodeBlock(markdown: string): string[] {
  const block = /```(?:sh|bash|shell)?\n([\s\S]*?)```/.exec(markdown);
  if (!block) throw new Error('the README has no code block');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .flatMap((line) => line.split('&&').map((command) => command.trim()));
}

/** What the commands so far made: files created and variables set (in the shell or in .env). */
interface Made {
  files: Set<string>;
  variables: Set<string>;
}

const exists = (made: Made, path: string) => made.files.has(path.replace(/^\.\//, '')) || inFreshClone(path);

const COMPOSE = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');

function composeNeeds(made: Made, args: string[], text = COMPOSE): string[] {
  const { services } = parseYaml(text) as { services: Record<string, ComposeService> };
  const profiles = args.flatMap((arg, index) => (args[index - 1] === '--profile' ? [arg] : []));
  const unmet: string[] = [];
  // Compose interpolates every service, in a profile or not, before it starts any.
  for (const [, name] of text.matchAll(/\$\{([A-Z][A-Z0-9_]*):?\?/g)) {
    if (!made.variables.has(name!)) unmet.push(`docker-compose.yml refuses to start without ${name}`);
  }
  for (const [service, definition] of Object.entries(services)) {
    if (definition.profiles && !definition.profiles.some((profile) => profiles.includes(profile))) continue;
    const envFiles = definition.env_file === undefined ? [] : Array.isArray(definition.env_file) ? definition.env_file : [definition.env_file];
    for (const envFile of envFiles) {
      const { path, required } = typeof envFile === 'string' ? { path: envFile, required: true } : { required: true, ...envFile };
      if (required && !exists(made, path)) unmet.push(`${service} needs ${path}`);
    }
    const context = typeof definition.build === 'string' ? definition.build : definition.build?.context;
    if (context !== undefined && !exists(made, join(context, 'Dockerfile'))) unmet.push(`${service} builds from ${context}/Dockerfile`);
  }
  return unmet;
}

const { scripts: SCRIPTS } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** Everything `npm run <script>` runs, followed through nested `npm run`s, and the files `node` is given. */
function npmScriptNeeds(script: string, seen = new Set<string>()): string[] {
  const body = SCRIPTS[script];
  if (body === undefined) return [`package.json has no script "${script}"`];
  if (seen.has(script)) return [];
  seen.add(script);
  const nested = [...body.matchAll(/npm run ([\w:-]+)/g)].flatMap(([, name]) => npmScriptNeeds(name!, seen));
  const files = [...body.matchAll(/(?:^|&& )(?:node|ts-node(?: --transpile-only)?) ([\w./-]+\.(?:js|ts))/g)].map(([, file]) => file!).filter((file) => !inFreshClone(file));
  return [...nested, ...files.map((file) => `npm run ${script} runs ${file}, which a fresh clone lacks`)];
}

function unmetNeeds(command: string, made: Made): string[] {
  const words = command.split(/\s+/);
  if (words[0] === 'cp' && words.length === 3) {
    if (!exists(made, words[1]!)) return [`${command}: no ${words[1]}`];
    made.files.add(words[2]!);
    // Copying .env.example sets nothing: its REQUIRED lines are empty.
    return [];
  }
  if (words[0] === 'docker' && words[1] === 'compose') return composeNeeds(made, words.slice(2));
  if (words[0] === 'npm' && (words[1] === 'install' || words[1] === 'ci')) {
    if (!inFreshClone('package.json')) return ['no package.json'];
    // npm install runs the prepare script of the package itself.
    return SCRIPTS.prepare === undefined ? [] : npmScriptNeeds('prepare');
  }
  if (words[0] === 'npm' && words[1] === 'test') return npmScriptNeeds('test');
  if (words[0] === 'npm' && words[1] === 'run') return npmScriptNeeds(words[2]!);
  return [`a command this test does not know: ${command}`];
}

describe("the README's first code block, typed on a fresh clone", () => {
  const commands = firstCodeBlock(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  it('starts the stack and runs the tests, as SPEC §1 puts them at the top', () => {
    expect(commands).toEqual(expect.arrayContaining(['docker compose up -d', 'npm install', 'npm test']));
  });

  it('gives every command what it needs from the commands before it', () => {
    const made: Made = { files: new Set(), variables: new Set() };
    expect(commands.map((command) => ({ command, unmet: unmetNeeds(command, made) }))).toEqual(commands.map((command) => ({ command, unmet: [] })));
  });

  it('would notice a compose file that needs .env or refuses an unset variable, and a script that is not there (the check itself)', () => {
    const fresh = (): Made => ({ files: new Set(), variables: new Set() });
    // the gateway's env_file made mandatory again, as it was before this test
    const strict = COMPOSE.replace(/env_file:\n\s+- path: \.env\n\s+required: false/, 'env_file: .env');
    expect(strict).not.toBe(COMPOSE);
    expect(composeNeeds(fresh(), ['up', '-d'], strict)).toEqual(['gateway needs .env']);
    const afterCopy = fresh();
    expect(unmetNeeds('cp .env.example .env', afterCopy)).toEqual([]);
    expect(composeNeeds(afterCopy, ['up', '-d'], strict)).toEqual([]);
    const refusing = COMPOSE.replace('${MEDIA_IP:-}', '${MEDIA_IP:?set MEDIA_IP}');
    expect(composeNeeds(afterCopy, ['up', '-d'], refusing)).toEqual(['docker-compose.yml refuses to start without MEDIA_IP']);
    expect(unmetNeeds('npm run no-such-script', fresh())).toEqual(['package.json has no script "no-such-script"']);
  });
});
