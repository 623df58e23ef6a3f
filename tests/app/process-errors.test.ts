import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The handlers app/main.ts installs, in a real Node process: an error nobody awaited is logged,
 * counted and survived — other calls go on — unless it says the database is unusable.
 */
function runWith(throwing: string): { status: number | null; output: string } {
  const script = `
    const { uncaughtExceptionHandler, unhandledRejectionHandler } = require(${JSON.stringify(join(__dirname, '../../app/process-errors'))});
    const { createLogger } = require(${JSON.stringify(join(__dirname, '../../core/logger'))});
    const { createMetrics } = require(${JSON.stringify(join(__dirname, '../../core/metrics'))});
    const metrics = createMetrics();
    const parts = { logger: createLogger('info'), unexpectedErrors: metrics.unexpectedErrors, exit: (code) => process.exit(code) };
    process.on('unhandledRejection', unhandledRejectionHandler(parts));
    process.on('uncaughtException', uncaughtExceptionHandler(parts));
    ${throwing};
    setTimeout(async () => {
      process.stdout.write((await metrics.registry.getSingleMetricAsString('dialin_unexpected_errors_total')) + '\\nstill running\\n');
    }, 100);
  `;
  const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: child.status, output: `${child.stdout}${child.stderr}` };
}

describe('an error that reaches the service process', () => {
  it("is logged as a warning and survived when it is drachtio-server's 'unable to find dialog' (ENODIALOG)", () => {
    const { status, output } = runWith(`Promise.reject(Object.assign(new Error('Server error: unable to find dialog for dialog id provided'), { code: 'ENODIALOG' }))`);
    expect(status).toBe(0);
    expect(output).toContain('a library ended a SIP dialog drachtio-server had already closed');
    expect(output).toMatch(/dialin_unexpected_errors_total\{boundary="process"\} 1/);
    expect(output).toContain('still running');
  });

  it('is logged, counted and survived when it is any other rejection nobody awaited', () => {
    const { status, output } = runWith(`Promise.reject(new Error('endpoint no longer active')); Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))`);
    expect(status).toBe(0);
    expect(output).toMatch(/"level":50.*endpoint no longer active/);
    expect(output).toMatch(/dialin_unexpected_errors_total\{boundary="process"\} 2/);
    expect(output).toContain('still running');
  });

  it('ends the process when the database is unusable, so its supervisor restarts it', () => {
    const { status, output } = runWith(`Promise.reject(Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' }))`);
    expect(status).toBe(70);
    expect(output).toContain('the database is unusable');
    expect(output).not.toContain('still running');
  });

  it('ends the process on an uncaught exception, after logging it', () => {
    const { status, output } = runWith(`setImmediate(() => { throw new Error('state unknown'); })`);
    expect(status).toBe(70);
    expect(output).toMatch(/"level":60.*uncaught exception; exiting/);
    expect(output).not.toContain('still running');
  });
});
