import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The handler installed in a real Node process, as service/main.ts installs it: a library's
 * dropped ENODIALOG rejection must not end the service, anything else must.
 */
function runWithUnhandledRejection(rejection: string): { status: number | null; output: string } {
  const script = `
    const { unhandledRejectionHandler } = require(${JSON.stringify(join(__dirname, '../../gateway/connections'))});
    const { createLogger } = require(${JSON.stringify(join(__dirname, '../../core/logger'))});
    process.on('unhandledRejection', unhandledRejectionHandler(createLogger('info')));
    Promise.reject(${rejection});
    setTimeout(() => { process.stdout.write('still running\\n'); }, 100);
  `;
  const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: child.status, output: `${child.stdout}${child.stderr}` };
}

describe('an unhandled rejection in the service process', () => {
  it("is logged and survived when it is drachtio-server's 'unable to find dialog' (ENODIALOG)", () => {
    const { status, output } = runWithUnhandledRejection(
      `Object.assign(new Error('Server error: unable to find dialog for dialog id provided'), { code: 'ENODIALOG' })`,
    );
    expect(status).toBe(0);
    expect(output).toContain('still running');
    expect(output).toContain('a library ended a SIP dialog drachtio-server had already closed');
  });

  it('still ends the process when it is anything else', () => {
    const { status, output } = runWithUnhandledRejection(`Object.assign(new Error('disk on fire'), { code: 'EIO' })`);
    expect(status).not.toBe(0);
    expect(output).toContain('disk on fire');
    expect(output).not.toContain('still running');
  });
});
