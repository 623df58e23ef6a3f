import { JigasiPool } from '../../gateway/jigasi';
import { checkJigasiHealth } from '../../gateway/jigasi-health';
import { createLogger } from '../../core/logger';
import { LogCapture } from '../support/service';

describe('Jigasi health checks by SIP OPTIONS', () => {
  const logs = new LogCapture();
  const logger = createLogger('info', logs);

  it('marks an instance down when it does not answer or answers 5xx, and up again when it answers', async () => {
    const pool = new JigasiPool(['sip:a', 'sip:b', 'sip:c']);
    const answers: Record<string, number | undefined> = { 'sip:a': undefined, 'sip:b': 503, 'sip:c': 200 };
    const ping = async (uri: string) => answers[uri];
    await checkJigasiHealth(pool, ping, logger);
    expect(pool.order()).toEqual(['sip:c', 'sip:a', 'sip:b']);
    expect(logs.text).toMatch(/Jigasi is down/);

    answers['sip:a'] = 200;
    answers['sip:b'] = 405;
    await checkJigasiHealth(pool, ping, logger);
    expect(pool.order()).toEqual(['sip:a', 'sip:b', 'sip:c']);
    expect(logs.text).toMatch(/Jigasi is up again/);
  });

  it('counts an instance that never answers as down after the timeout', async () => {
    const pool = new JigasiPool(['sip:silent', 'sip:ok']);
    const ping = async (uri: string) => (uri === 'sip:ok' ? Promise.resolve(200) : new Promise<number>(() => undefined));
    await checkJigasiHealth(pool, ping, logger, 20);
    expect(pool.isDown('sip:silent')).toBe(true);
    expect(pool.order()).toEqual(['sip:ok', 'sip:silent']);
  });

  it('changes nothing while drachtio-server is not connected', async () => {
    const pool = new JigasiPool(['sip:a']);
    pool.markDown('sip:a', true);
    await checkJigasiHealth(pool, async () => null, logger);
    expect(pool.isDown('sip:a')).toBe(true);
    pool.markDown('sip:a', false);
    await checkJigasiHealth(pool, async () => null, logger);
    expect(pool.isDown('sip:a')).toBe(false);
  });
});
