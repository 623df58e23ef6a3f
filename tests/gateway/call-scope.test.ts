import { EventEmitter } from 'node:events';
import { CallEnded, CallScope } from '../../gateway/call-scope';
import { createLogger } from '../../core/logger';
import { LogCapture } from '../support/service';

/** What one call owns (gateway/call-scope.ts): everything it starts ends with it, and its errors stay its own. */

const sleep = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function scope(destroyWithinMs = 200) {
  const logs = new LogCapture();
  const failures: unknown[] = [];
  return { scope: new CallScope(createLogger('debug', logs), (error) => failures.push(error), destroyWithinMs), logs, failures };
}

describe("a call's scope", () => {
  it('clears its timers when the call is cancelled, and starts none afterwards', async () => {
    const { scope: s } = scope();
    const fired: string[] = [];
    s.after(20, () => fired.push('once'));
    s.every(5, () => fired.push('repeat'));
    await sleep(12);
    const before = fired.length;
    s.cancel('caller-hung-up');
    s.after(1, () => fired.push('late'));
    expect(s.every(1, () => fired.push('late repeat'))).toBeUndefined();
    await sleep(40);

    expect(before).toBeGreaterThan(0);
    expect(fired).toHaveLength(before);
    expect(fired).not.toContain('once');
  });

  it('rejects every guarded wait with CallEnded and the first reason, also for waits started later', async () => {
    const { scope: s } = scope();
    const pending = s.guard(new Promise(() => undefined));
    s.cancel('kicked');
    s.cancel('caller-hung-up');

    await expect(pending).rejects.toEqual(new CallEnded('kicked'));
    await expect(s.guard(Promise.resolve(1))).rejects.toEqual(new CallEnded('kicked'));
    expect(s.cancelledBy).toBe('kicked');
  });

  it('catches the failure of work it runs: logged once, reported once, never thrown', async () => {
    const { scope: s, logs, failures } = scope();
    s.run('playing a prompt', async () => {
      throw new Error('-ERR no reply');
    });
    await sleep(1);

    expect(failures).toEqual([new Error('-ERR no reply')]);
    expect(logs.text).toMatch(/"level":50.*playing a prompt failed; ending the call/);
  });

  it('treats a failure racing the end of the call as expected: debug only, nothing reported', async () => {
    const { scope: s, logs, failures } = scope();
    s.cancel('caller-hung-up');
    s.run('muting', async () => {
      throw new Error('endpoint no longer active');
    });
    s.run('waiting', async () => s.guard(new Promise(() => undefined)));
    await sleep(1);

    expect(failures).toEqual([]);
    expect(logs.text).not.toMatch(/"level":50/);
    expect(logs.text).toMatch(/failed as the call ended/);
  });

  it('keeps a throw in an event listener inside the call, and removes its listeners on close', () => {
    const { scope: s, failures } = scope();
    const emitter = new EventEmitter();
    s.on(emitter, 'info', () => {
      throw new Error('bad INFO');
    });

    expect(() => emitter.emit('info')).not.toThrow();
    expect(failures).toEqual([new Error('bad INFO')]);
    s.close();
    expect(emitter.listenerCount('info')).toBe(0);
  });

  it('destroys a resource once, never one the far end ended, and gives up on a silent far end', async () => {
    const { scope: s, logs } = scope(50);
    let byes = 0;
    const dialog = { destroy: async () => void byes++ };
    const gone = { destroy: async () => void byes++ };
    const silent = { destroy: async () => new Promise(() => undefined) };
    s.markGone(gone);

    await Promise.all([s.destroy(dialog), s.destroy(dialog), s.destroy(gone)]);
    const started = Date.now();
    await s.destroy(silent);

    expect(byes).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(logs.text).toMatch(/no answer from the far end; going on without it/);
  });

  it('goes on when a destroy fails because the far end had already ended it: no error, nothing reported', async () => {
    const { scope: s, logs, failures } = scope(50);
    const ended = { destroy: async () => Promise.reject(new Error('invalid request to a completed dialog')) };
    await s.destroy(ended);
    expect(failures).toEqual([]);
    expect(logs.lines.map((line) => JSON.parse(line) as { level: number; msg: string })).toEqual([
      expect.objectContaining({ level: 20, msg: 'teardown: the far end had already ended it' }),
    ]);
  });

  it('destroys what arrives after the call was cancelled instead of adopting it', async () => {
    const { scope: s } = scope();
    let release!: (resource: { destroy(): Promise<void> }) => void;
    let destroyed = 0;
    const adopted: unknown[] = [];
    const owning = s.own(new Promise<{ destroy(): Promise<void> }>((resolve) => (release = resolve)), (resource) => adopted.push(resource));
    s.cancel('cancelled');
    release({ destroy: async () => void destroyed++ });

    await expect(owning).rejects.toBeInstanceOf(CallEnded);
    await sleep(1);
    expect(adopted).toEqual([]);
    expect(destroyed).toBe(1);
  });
});
