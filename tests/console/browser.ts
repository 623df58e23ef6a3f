import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { source as axeSource } from 'axe-core';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Real headless Chromium for the admin console's tests: Debian's `chromium` package (no browser
 * download works here; .ci/run installs it when missing), or CHROMIUM_PATH.
 */
const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export async function launchChromium(): Promise<Browser> {
  const executablePath = CANDIDATES.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
  if (!executablePath) throw new Error('the admin console tests need Chromium: apt-get install chromium (or set CHROMIUM_PATH)');
  // The sandbox needs user namespaces, which containers and root shells often lack.
  return chromium.launch({ executablePath, chromiumSandbox: false, args: ['--disable-dev-shm-usage', '--lang=de-DE'] });
}

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's findings of impact serious or critical on the page as it is now. It runs through
 * the DevTools protocol, which the page's Content-Security-Policy does not govern.
 */
export async function seriousAccessibilityFindings(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, help: violation.help, nodes: violation.nodes.map((node) => JSON.stringify(node.target)) }));
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** Screenshots go to docs/console (shown in the README) with UPDATE_SCREENSHOTS=1, else to `fallbackDir`. */
export function screenshotDir(fallbackDir: string): string {
  const dir = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'console') : fallbackDir;
  mkdirSync(dir, { recursive: true });
  return dir;
}
