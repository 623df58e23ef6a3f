import type { TrunkConfig } from '../../core/config';
import { createLogger } from '../../core/logger';
import { createMetrics } from '../../core/metrics';
import { Readiness } from '../../core/readiness';
import { grantedExpiry } from '../../gateway/connections';
import { REGISTRATION_TIMING, TrunkRegistration, hostOf, hostPortOf, type RegisterAnswer, type RegisterRequest } from '../../gateway/trunk-registration';
import type { TrunkStatus } from '../../provisioning/trunk-states';
import { Trunks } from '../../gateway/trunks';
import { LogCapture } from '../support/service';

const TRUNK: TrunkConfig = {
  name: 'telekom',
  registrars: ['sip:reg1.provider.de'],
  transport: 'udp',
  user: '0413612345',
  authUser: 'auth-0413612345',
  password: 'very-secret-trunk-password',
  expires: 600,
  numbers: ['+494136123456'],
  callerId: '+494136123456',
  calledNumberFrom: 'request-uri',
};

/** What a registrar answers, REGISTER by REGISTER: a status (with a granted lifetime), never (hangs), or a rejection (drachtio-srf not connected). */
type Answer = RegisterAnswer | 'never' | Error;

function registrar(...answers: Answer[]) {
  const sent: Array<RegisterRequest & { at: number }> = [];
  const send = async (request: RegisterRequest): Promise<RegisterAnswer> => {
    sent.push({ ...request, at: Date.now() });
    const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
    if (answer === 'never') return new Promise<RegisterAnswer>(() => undefined);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { sent, send };
}

function registration(trunk: TrunkConfig, ...answers: Answer[]) {
  const logs = new LogCapture();
  const statuses: TrunkStatus[] = [];
  const { sent, send } = registrar(...answers);
  const subject = new TrunkRegistration(trunk, createLogger('debug', logs), (status) => statuses.push(status));
  return { subject, start: () => subject.start(send), sent, statuses, logs, last: () => statuses.at(-1)! };
}

const START = Date.UTC(2026, 10, 29, 12, 0, 0);

beforeEach(() => {
  jest.useFakeTimers({ now: START });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('registering a trunk', () => {
  it('sends a REGISTER for the trunk user with the credentials for drachtio-srf to answer the challenge', async () => {
    const { subject, start, sent, last } = registration({ ...TRUNK, transport: 'tcp', realm: 'provider.de', outboundProxy: 'sip:sbc.provider.de' }, { status: 200, expires: 600 });
    start();
    await jest.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      uri: 'sip:reg1.provider.de;transport=tcp',
      proxy: 'sip:sbc.provider.de',
      headers: { From: '<sip:0413612345@reg1.provider.de>', To: '<sip:0413612345@reg1.provider.de>', Contact: '<sip:0413612345@localhost;transport=tcp>', Expires: '600' },
      auth: { username: 'auth-0413612345', password: 'very-secret-trunk-password', realm: 'provider.de' },
    });
    expect(last()).toEqual({ name: 'telekom', registrar: 'sip:reg1.provider.de', state: 'registered', lastStatus: 200, since: START, expiresAt: START + 600_000 });
    await subject.stop();
  });

  it('refreshes at half the lifetime the registrar granted, not the one asked for', async () => {
    const { subject, start, sent } = registration(TRUNK, { status: 200, expires: 120 });
    start();
    await jest.advanceTimersByTimeAsync(59_999);
    expect(sent).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sent.map(({ at }) => (at - START) / 1000)).toEqual([0, 60, 120]);
    await subject.stop();
  });

  it('never refreshes sooner than every 15 s, whatever a registrar grants', async () => {
    const { subject, start, sent } = registration(TRUNK, { status: 200, expires: 2 });
    start();
    await jest.advanceTimersByTimeAsync(45_000);
    expect(sent.map(({ at }) => (at - START) / 1000)).toEqual([0, 15, 30, 45]);
    await subject.stop();
  });

  it('backs off after failures, 5 s doubling to a 5-minute cap, and reports the last status', async () => {
    const { subject, start, sent, last } = registration(TRUNK, { status: 403 });
    start();
    await jest.advanceTimersByTimeAsync(30 * 60_000);
    const gaps = sent.slice(1).map(({ at }, index) => (at - sent[index]!.at) / 1000);
    expect(gaps.slice(0, 8)).toEqual([5, 10, 20, 40, 80, 160, 300, 300]);
    expect(last()).toMatchObject({ state: 'failing', lastStatus: 403, since: START, expiresAt: null });
    await subject.stop();
  });

  it('treats a challenge the credentials do not meet (the 401 drachtio-srf passes on), a timeout and a lost drachtio-server as failures', async () => {
    const { subject, start, sent, statuses, logs } = registration(TRUNK, { status: 401 }, { status: 408 }, new Error('drachtio-server not connected'), { status: 200, expires: 600 });
    start();
    await jest.advanceTimersByTimeAsync(5_000 + 10_000 + 20_000);
    expect(sent).toHaveLength(4);
    expect(statuses.map(({ state, lastStatus }) => `${state} ${lastStatus}`)).toEqual(['failing 401', 'failing 408', 'failing 503', 'registered 200']);
    expect(logs.text).toContain('drachtio-server not connected');
    await subject.stop();
  });

  it('starts the backoff over once a registration succeeds', async () => {
    const { subject, start, sent } = registration(TRUNK, { status: 503 }, { status: 503 }, { status: 200, expires: 60 }, { status: 503 }, { status: 200, expires: 600 });
    start();
    await jest.advanceTimersByTimeAsync(5_000 + 10_000 + 30_000 + 5_000);
    expect(sent.map(({ at }) => (at - START) / 1000)).toEqual([0, 5, 15, 45, 50]);
    await subject.stop();
  });

  it('fails over to the next registrar and comes back round to the first', async () => {
    const trunk = { ...TRUNK, registrars: ['sip:reg1.provider.de', 'sip:reg2.provider.de'] };
    const { subject, start, sent, last } = registration(trunk, { status: 503 }, { status: 408 }, { status: 200, expires: 600 });
    start();
    await jest.advanceTimersByTimeAsync(15_000);
    expect(sent.map(({ uri, headers }) => `${uri} ${headers.To}`)).toEqual([
      'sip:reg1.provider.de <sip:0413612345@reg1.provider.de>',
      'sip:reg2.provider.de <sip:0413612345@reg2.provider.de>',
      'sip:reg1.provider.de <sip:0413612345@reg1.provider.de>',
    ]);
    expect(last()).toMatchObject({ state: 'registered', registrar: 'sip:reg1.provider.de' });
    await subject.stop();
  });

  it('stays registered while a failed refresh leaves the registration running, and is failing once it has run out', async () => {
    const { subject, start, statuses } = registration(TRUNK, { status: 200, expires: 60 }, { status: 503 });
    start();
    await jest.advanceTimersByTimeAsync(30_000 + 5_000 + 10_000);
    expect(statuses.map(({ state, lastStatus }) => `${state} ${lastStatus}`)).toEqual(['registered 200', 'registered 503', 'registered 503', 'registered 503']);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(statuses.at(-1)).toMatchObject({ state: 'failing', lastStatus: 503, since: START + 65_000, expiresAt: null });
    await subject.stop();
  });

  it('unregisters on stop with Expires: 0 and stops refreshing', async () => {
    const { subject, start, sent, last } = registration(TRUNK, { status: 200, expires: 600 });
    start();
    await jest.advanceTimersByTimeAsync(0);
    await subject.stop();
    expect(sent.map(({ headers }) => headers.Expires)).toEqual(['600', '0']);
    expect(last()).toMatchObject({ state: 'off', expiresAt: null });
    await jest.advanceTimersByTimeAsync(3_600_000);
    expect(sent).toHaveLength(2);
  });

  it('gives a registrar that does not answer the unregistration 2 s, then stops anyway', async () => {
    const { subject, start, sent } = registration(TRUNK, { status: 200, expires: 600 }, 'never');
    start();
    await jest.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = subject.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(REGISTRATION_TIMING.unregisterWithinMs - 1);
    expect(stopped).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await stopping;
    expect(sent).toHaveLength(2);
  });

  it('does not unregister a trunk that never registered, and ignores an answer that arrives after stop', async () => {
    let answer!: (value: RegisterAnswer) => void;
    const statuses: TrunkStatus[] = [];
    const sent: RegisterRequest[] = [];
    const subject = new TrunkRegistration(TRUNK, createLogger('debug', new LogCapture()), (status) => statuses.push(status));
    subject.start(async (request) => {
      sent.push(request);
      return new Promise<RegisterAnswer>((resolve) => (answer = resolve));
    });
    await subject.stop();
    answer({ status: 200, expires: 600 });
    await jest.advanceTimersByTimeAsync(600_000);
    expect(sent).toHaveLength(1);
    expect(statuses).toEqual([]);
  });

  it('never logs the password', async () => {
    const { subject, start, logs } = registration(TRUNK, { status: 403 }, { status: 200 });
    start();
    await jest.advanceTimersByTimeAsync(5_000);
    await subject.stop();
    expect(logs.text).toContain('trunk registered');
    expect(logs.text).not.toContain(TRUNK.password);
  });
});

describe('the trunks of a gateway', () => {
  function trunks(configs: TrunkConfig[], answers: Answer[], hosts: Record<string, string[]> = {}) {
    const readiness = new Readiness([]);
    const metrics = createMetrics();
    const { sent, send } = registrar(...answers);
    const subject = new Trunks(configs, readiness, metrics, createLogger('debug', new LogCapture()), async (host) => hosts[host] ?? []);
    return { subject, start: () => subject.connected(send), readiness, metrics, sent };
  }

  it('is not ready until every trunk is registered, and says why', async () => {
    const { subject, start, readiness } = trunks([TRUNK, { ...TRUNK, name: 'backup', registrars: ['sip:other.example.net'] }], [{ status: 200, expires: 600 }, { status: 403 }]);
    expect(readiness.problems()).toEqual({ 'trunk telekom': 'not registered yet', 'trunk backup': 'not registered yet' });
    start();
    await jest.advanceTimersByTimeAsync(0);
    expect(readiness.problems()).toEqual({ 'trunk backup': 'REGISTER at sip:other.example.net answered 403' });
    await subject.stop();
  });

  it('registers once drachtio-server is connected, and a failing trunk tries again at once when it reconnects', async () => {
    const { subject, start, sent, readiness } = trunks([TRUNK], [{ status: 503 }, { status: 200, expires: 600 }]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(0);
    start();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(sent).toHaveLength(1);
    start();
    await jest.advanceTimersByTimeAsync(0);
    expect(sent.map(({ at }) => (at - START) / 1000)).toEqual([60, 61]);
    expect(readiness.problems()).toEqual({});
    start();
    await jest.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(2);
    await subject.stop();
  });

  it('shows each registration in /metrics', async () => {
    const { subject, start, metrics } = trunks([TRUNK], [{ status: 401 }, { status: 200, expires: 600 }]);
    start();
    await jest.advanceTimersByTimeAsync(5_000);
    const text = await metrics.registry.metrics();
    expect(text).toContain('dialin_trunk_registered{trunk="telekom"} 1');
    expect(text).toContain('dialin_trunk_registrations_total{trunk="telekom",status="401"} 1');
    expect(text).toContain('dialin_trunk_registrations_total{trunk="telekom",status="200"} 1');
    await subject.stop();
    expect(await metrics.registry.metrics()).toContain('dialin_trunk_registered{trunk="telekom"} 0');
  });

  it('knows INVITEs from the addresses of a registrar or outbound proxy as coming over that trunk', async () => {
    const trunk = { ...TRUNK, registrars: ['sip:reg1.provider.de', 'sip:[2001:db8::7]:5060'], outboundProxy: 'sip:sbc.provider.de;lr' };
    const { subject, start } = trunks([trunk], [{ status: 200, expires: 600 }], { 'reg1.provider.de': ['198.51.100.1'], '2001:db8::7': ['2001:db8::7'], 'sbc.provider.de': ['198.51.100.9'] });
    start();
    await jest.advanceTimersByTimeAsync(0);
    expect(subject.trunkAt('198.51.100.1')?.name).toBe('telekom');
    expect(subject.trunkAt('::ffff:198.51.100.9')?.name).toBe('telekom');
    expect(subject.trunkAt('2001:db8::7')?.name).toBe('telekom');
    expect(subject.trunkAt('198.51.100.2')).toBeUndefined();
    await subject.stop();
  });
});

describe('what a registrar answers', () => {
  it.each([
    ['<sip:u@192.0.2.1>;expires=300', '600', 300],
    ['<sip:u@192.0.2.1>', '600', 600],
    [undefined, ' 120 ', 120],
    [undefined, undefined, undefined],
    ['<sip:u@192.0.2.1>;expires=soon', 'later', undefined],
  ])('Contact %s, Expires %s → %s', (contact, expires, granted) => {
    expect(grantedExpiry(contact, expires)).toBe(granted);
  });

  it.each([
    ['sip:reg.provider.de', 'reg.provider.de'],
    ['sip:reg.provider.de:5080;transport=tcp', 'reg.provider.de'],
    ['sips:user@reg.provider.de', 'reg.provider.de'],
    ['sip:[2001:db8::7]:5060', '2001:db8::7'],
  ])('the host of %s is %s', (uri, host) => {
    expect(hostOf(uri)).toBe(host);
  });

  it.each([
    ['sip:reg.provider.de', 'reg.provider.de'],
    ['sip:reg.provider.de:5080;transport=tcp', 'reg.provider.de:5080'],
    ['sips:user@reg.provider.de:5061', 'reg.provider.de:5061'],
    ['sip:[2001:db8::7]:5060', '[2001:db8::7]:5060'],
  ])('a request to %s goes to %s', (uri, hostPort) => {
    expect(hostPortOf(uri)).toBe(hostPort);
  });
});
