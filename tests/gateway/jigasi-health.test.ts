import { JigasiPool } from '../../gateway/jigasi';
import { checkJigasiHealth } from '../../gateway/jigasi-health';
import { createLogger } from '../../core/logger';
import { Readiness } from '../../core/readiness';
import { LogCapture } from '../support/service';

describe('Jigasi health checks by SIP OPTIONS', () => {
  const logs = new LogCapture();
  const logger = createLogger('info', logs);

  it('marks an instance down when it does not answer or answers 5xx, and up again when it answers', async () => {
    const pool = new JigasiPool(['sip:a', 'sip:b', 'sip:c']);
    const readiness = new Readiness([]);
    const answers: Record<string, number | undefined> = { 'sip:a': undefined, 'sip:b': 503, 'sip:c': 200 };
    const ping = async (uri: string) => answers[uri];
    await checkJigasiHealth(pool, ping, logger, readiness);
    expect(pool.order()).toEqual(['sip:c', 'sip:a', 'sip:b']);
    expect(logs.text).toMatch(/Jigasi is down/);
    expect(readiness.problems()).toEqual({});
    expect(readiness.details()).toEqual({ jigasi: { 'sip:a': 'down', 'sip:b': 'down', 'sip:c': 'up' } });

    answers['sip:a'] = 200;
    answers['sip:b'] = 405;
    await checkJigasiHealth(pool, ping, logger, readiness);
    expect(pool.order()).toEqual(['sip:a', 'sip:b', 'sip:c']);
    expect(logs.text).toMatch(/Jigasi is up again/);
  });

  it('makes /readyz say so when no Jigasi is up, once in the log, and recovers when one answers', async () => {
    const pool = new JigasiPool(['sip:only']);
    const readiness = new Readiness([]);
    const answer: { status: number | undefined } = { status: undefined };
    const lines = logs.lines.length;
    await checkJigasiHealth(pool, async () => answer.status, logger, readiness);
    await checkJigasiHealth(pool, async () => answer.status, logger, readiness);

    expect(readiness.problems()).toEqual({ jigasi: 'no Jigasi answers SIP OPTIONS (sip:only)' });
    const newLines = logs.lines.slice(lines).join('\n');
    expect(newLines.match(/no Jigasi answers SIP OPTIONS/g)).toHaveLength(1);
    expect(newLines).not.toMatch(/routing calls to the others/);

    answer.status = 200;
    await checkJigasiHealth(pool, async () => answer.status, logger, readiness);
    expect(readiness.problems()).toEqual({});
  });

  it('counts an instance that never answers as down after the timeout', async () => {
    const pool = new JigasiPool(['sip:silent', 'sip:ok']);
    const ping = async (uri: string) => (uri === 'sip:ok' ? Promise.resolve(200) : new Promise<number>(() => undefined));
    await checkJigasiHealth(pool, ping, logger, new Readiness([]), 20);
    expect(pool.isDown('sip:silent')).toBe(true);
    expect(pool.order()).toEqual(['sip:ok', 'sip:silent']);
  });

  it('changes nothing while drachtio-server is not connected', async () => {
    const pool = new JigasiPool(['sip:a']);
    const readiness = new Readiness([]);
    pool.markDown('sip:a', true);
    await checkJigasiHealth(pool, async () => null, logger, readiness);
    expect(pool.isDown('sip:a')).toBe(true);
    pool.markDown('sip:a', false);
    await checkJigasiHealth(pool, async () => null, logger, readiness);
    expect(pool.isDown('sip:a')).toBe(false);
    expect(readiness.problems()).toEqual({});
  });
});
