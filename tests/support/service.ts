import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import jwt from 'jsonwebtoken';
import { loadConfig, type Config, type Env } from '../../core/config';
import { createLogger } from '../../core/logger';
import { startService, type RunningService } from '../../app/service';

export const TEST_SECRET = 'test-secret-that-is-long-enough-0123456789';
export const MUC = 'conference.meet.example.org';

/** A temporary folder for SQLite files, removed by cleanup(). */
export function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'dialin-test-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function testEnv(overrides: Env = {}): Env {
  return {
    JWT_SECRET: TEST_SECRET,
    JITSI_MUC_DOMAIN: MUC,
    JIGASI_URIS: 'sip:jigasi.example.org',
    DIALIN_NUMBERS: 'DE:+49 4136 123456,AT:+43 1 234567',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

/** Every log line the service wrote, parsed, for privacy assertions. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestService extends RunningService {
  config: Config;
  logs: LogCapture;
  request(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
}

/** The real service on an ephemeral port with its database at dbPath. */
export async function startTestService(dbPath: string, overrides: Env = {}): Promise<TestService> {
  const config = loadConfig(testEnv({ DB_PATH: dbPath, ...overrides }));
  const logs = new LogCapture();
  const service = await startService(config, createLogger(config.logLevel, logs), { sip: false });
  return {
    ...service,
    config,
    logs,
    async request(path, init = {}) {
      const { token, headers, ...rest } = init;
      return fetch(`${service.url}${path}`, {
        ...rest,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(headers as Record<string, string>) },
      });
    },
  };
}

export function hsToken(scope: string, options: jwt.SignOptions = {}, secret = TEST_SECRET): string {
  return jwt.sign({ scope }, secret, { algorithm: 'HS256', audience: 'dialin-api', expiresIn: 600, subject: 'tester', ...options });
}

export const adminToken = () => hsToken('dialin:admin');
export const readToken = () => hsToken('dialin:read');

export function jsonInit(method: string, body: unknown, token = adminToken()): RequestInit & { token: string } {
  return { method, token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The JSON body of a response, untyped: tests assert on its shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function readJson(response: Response): Promise<any> {
  return response.json();
}

/** Waits until `condition` holds, polling the event loop; fails after `timeoutMs`. */
/**
 * The limit of a test that takes seconds by design, so that the mutation runs' short default
 * (jest.mutation.config.js, which turns a hanging call into a quick failure) does not cut it.
 */
export const SECONDS_BY_DESIGN_MS = 20_000;

export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
