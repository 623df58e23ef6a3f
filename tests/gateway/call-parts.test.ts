import { loadConfig } from '../../core/config';
import { callerNumberOf, displayNameFor } from '../../gateway/caller-id';
import { digitFromInfo } from '../../gateway/dtmf-relay';
import { JigasiPool } from '../../gateway/jigasi';
import { FALLBACK_TONE, PROMPT_IDS, PromptSet, builtInPromptsDir } from '../../gateway/prompts';
import { isScanner, screen } from '../../gateway/screening';
import { testEnv } from '../support/service';

describe('SIP INFO DTMF bodies', () => {
  it.each([
    ['application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n', '5'],
    ['application/dtmf-relay', 'signal= #\nduration=100', '#'],
    ['Application/DTMF-Relay; charset=utf-8', 'Signal=*\r\n', '*'],
    ['application/dtmf-relay', 'Signal=10\r\n', '*'],
    ['application/dtmf-relay', 'Signal=11\r\n', '#'],
    ['application/dtmf', '7', '7'],
    ['application/dtmf-relay', 'Signal=55\r\n', undefined],
    ['application/dtmf-relay', 'Duration=160', undefined],
    ['application/json', '{"type":"muteRequest"}', undefined],
    [undefined, 'Signal=5', undefined],
  ])('%s %j → %s', (type, body, digit) => {
    expect(digitFromInfo(type, body)).toBe(digit);
  });
});

describe("the caller's name in the Jitsi room", () => {
  it.each([
    ['Frau Meyer', '+49 4136 555134', 'masked', 'Frau Meyer'],
    [null, '+49 4136 555134', 'masked', 'Telefon ...34'],
    [null, '+49 4136 555134', 'anonymous', 'Telefon'],
    [null, '+49 4136 555134', 'full', '+494136555134'],
    [null, undefined, 'full', 'Telefon'],
    [null, 'anonymous', 'masked', 'Telefon'],
  ] as const)('label %j, number %j, mode %s → %j', (label, number, mode, shown) => {
    expect(displayNameFor(label, number, mode, 'de')).toBe(shown);
  });

  it('says Phone in English', () => {
    expect(displayNameFor(null, '+44 20 7946 0018', 'masked', 'en')).toBe('Phone ...18');
  });

  it('reads the number from the From user part only', () => {
    expect(callerNumberOf({ uri: 'sip:%2B494136555134@trunk.example.org', params: {} })).toBe('+494136555134');
    expect(callerNumberOf({ name: '+49 999', uri: 'sip:anonymous@anonymous.invalid', params: {} })).toBeUndefined();
    expect(callerNumberOf({ uri: 'tel:+494136555134', params: {} })).toBeUndefined();
    expect(callerNumberOf(undefined)).toBeUndefined();
  });
});

describe('screening', () => {
  const config = loadConfig(testEnv({ SIP_TRUSTED_SOURCES: '192.0.2.0/24,2001:db8::/32' }));
  const input = { sourceAddress: '192.0.2.7', userAgent: 'SBC', activeCalls: 0, mediaAvailable: true };

  it('admits a trusted source, also as an IPv4-mapped IPv6 address', () => {
    expect(screen(input, config.sipTrustedSources, 10)).toEqual({ admit: true });
    expect(screen({ ...input, sourceAddress: '::ffff:192.0.2.7' }, config.sipTrustedSources, 10)).toEqual({ admit: true });
    expect(screen({ ...input, sourceAddress: '2001:db8::5' }, config.sipTrustedSources, 10)).toEqual({ admit: true });
  });

  it.each([
    [{ sourceAddress: '203.0.113.9' }, 403, 'untrusted-source'],
    [{ sourceAddress: 'not-an-ip' }, 403, 'untrusted-source'],
    [{ userAgent: 'friendly-scanner' }, 403, 'scanner'],
    [{ activeCalls: 10 }, 486, 'busy'],
    [{ mediaAvailable: false }, 503, 'media-unavailable'],
  ])('%j → %i %s', (change, status, reason) => {
    expect(screen({ ...input, ...change }, config.sipTrustedSources, 10)).toEqual({ admit: false, status, reason });
  });

  it('knows the usual scanners', () => {
    for (const agent of ['friendly-scanner', 'sipvicious', 'sipcli/v1.8', 'VaxSIPUserAgent/3.1', 'sundayddr']) expect(isScanner(agent)).toBe(true);
    expect(isScanner('Asterisk PBX 18')).toBe(false);
    expect(isScanner(undefined)).toBe(false);
  });
});

describe('choosing a Jigasi', () => {
  it('prefers the one with the fewest calls from us, ties in configured order, down ones last', () => {
    const pool = new JigasiPool(['sip:a', 'sip:b', 'sip:c']);
    expect(pool.order()).toEqual(['sip:a', 'sip:b', 'sip:c']);
    const releaseA = pool.hold('sip:a');
    pool.hold('sip:b');
    expect(pool.order()).toEqual(['sip:c', 'sip:a', 'sip:b']);
    pool.markDown('sip:c', true);
    expect(pool.order()).toEqual(['sip:a', 'sip:b', 'sip:c']);
    releaseA();
    releaseA();
    expect(pool.order()).toEqual(['sip:a', 'sip:b', 'sip:c']);
    pool.hold('sip:a');
    pool.hold('sip:a');
    expect(pool.order()).toEqual(['sip:b', 'sip:a', 'sip:c']);
  });
});

describe('prompt files', () => {
  it('finds the shipped prompts, and falls back to a tone for a missing one', () => {
    const shipped = new PromptSet(builtInPromptsDir(), 'de');
    expect(shipped.missing).toEqual([]);
    expect(shipped.file('greeting')).toBe(`${builtInPromptsDir()}/de/greeting.wav`);
    const partial = new PromptSet('/recordings', 'de', (path) => !path.endsWith('/goodbye.wav'));
    expect(partial.missing).toEqual(['goodbye']);
    expect(partial.file('goodbye')).toBe(FALLBACK_TONE);
    expect(PROMPT_IDS.filter((id) => partial.file(id) === FALLBACK_TONE)).toEqual(['goodbye']);
  });
});
