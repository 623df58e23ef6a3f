import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/**
 * A real headless Chromium for the tests: the system's (CHROMIUM_PATH, then the usual install
 * paths) when there is one, otherwise the one the npm package @sparticuz/chromium ships inside
 * itself (a devDependency), unpacked into a temporary folder that goes when the browser closes.
 * No browser download works here, and `npm install && npm test` must run on a machine with
 * nothing but Node.js.
 */
const SYSTEM_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

export interface TestBrowser {
  browser: Browser;
  /** Which browser this is, for the test output: "Chromium 156.0… (/usr/bin/chromium)". */
  description: string;
}

function systemChromium(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured !== undefined && configured !== '') {
    if (!existsSync(configured)) throw new Error(`CHROMIUM_PATH=${configured}: no such file`);
    return configured;
  }
  return SYSTEM_PATHS.find((path) => existsSync(path));
}

/**
 * The package is an ES module that unpacks into os.tmpdir(): it runs in a child process whose
 * TMPDIR is a folder of our own, so nothing is left in /tmp and jest's CommonJS never loads it.
 */
async function unpackShippedChromium(folder: string): Promise<string> {
  const script = "import chromium from '@sparticuz/chromium'; process.stdout.write(await chromium.executablePath());";
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: __dirname,
    env: { ...process.env, TMPDIR: folder },
    timeout: 60_000,
  });
  return stdout.trim();
}

export async function launchChromium(options: LaunchOptions = {}): Promise<TestBrowser> {
  // The sandbox needs user namespaces, which containers and root shells often lack.
  const common: LaunchOptions = { ...options, chromiumSandbox: false, args: ['--disable-dev-shm-usage', ...(options.args ?? [])] };
  const system = systemChromium();
  if (system !== undefined) {
    const browser = await chromium.launch({ ...common, executablePath: system });
    return { browser, description: `Chromium ${browser.version()} (${system})` };
  }
  const folder = mkdtempSync(join(tmpdir(), 'dialin-chromium-'));
  try {
    const executablePath = await unpackShippedChromium(folder);
    // The package's fonts.conf names /tmp/fonts; ours names where they were unpacked.
    writeFileSync(
      join(folder, 'fonts', 'fonts.conf'),
      `<?xml version="1.0"?>\n<fontconfig><dir>${join(folder, 'fonts', 'fonts')}</dir><cachedir>${join(folder, 'fonts-cache')}</cachedir></fontconfig>\n`,
    );
    const browser = await chromium.launch({
      ...common,
      executablePath,
      env: { ...process.env, ...options.env, FONTCONFIG_PATH: join(folder, 'fonts'), HOME: folder },
    });
    browser.on('disconnected', () => rmSync(folder, { recursive: true, force: true }));
    return { browser, description: `Chromium ${browser.version()} shipped by @sparticuz/chromium (no system Chromium; set CHROMIUM_PATH to choose one)` };
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw new Error(`no Chromium for the browser tests: none installed, and the one @sparticuz/chromium ships did not start: ${(error as Error).message}`, { cause: error });
  }
}
