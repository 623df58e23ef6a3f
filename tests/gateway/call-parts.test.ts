import { loadConfig } from '../../core/config';
import { calledNumberOf, callerNumberOf, displayNameFor } from '../../gateway/caller-id';
import { toE164 } from '../../core/phone-number';
import { digitFromInfo } from '../../gateway/dtmf-relay';
import { JigasiPool } from '../../gateway/jigasi';
import { FALLBACK_TONE, PROMPT_IDS, PromptSet, builtInPromptsDir } from '../../gateway/prompts';
import { isScanner, screen } from '../../gateway/screening';
import { outcomeOfHangUp } from '../../gateway/call-outcome';
import { testEnv } from '../support/service';

describe('SIP INFO DTMF bodies', () => {
  it.each([
    ['application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n', '5'],
    ['application/dtmf-relay', 'signal= #\nduration=100', '#'],
    ['Application/DTMF-Relay; charset=utf-8', 'Signal=*\r\n', '*'],
    ['application/dtmf-relay', 'Signal=10\r\n', '*'],
    ['application/dtmf-relay', 'Signal=11\r\n', '#'],
    ['application/dtmf', '7', '7'],
    ['application/dtmf', ' 7 \r\n', '7'],
    ['application/dtmf', 'a', 'A'],
    ['application/dtmf-relay', 'xsignal=5\r\n', undefined],
    ['application/dtmf-relay', 'Signal=5 Duration=160', undefined],
    ['application/dtmf-relay', 'Signal=d\r\n', 'D'],
    ['application/dtmf-relay', 'Signal = 5\r\n', '5'],
    ['text/plain', '5', undefined],
    ['application/dtmf-relayed', 'Signal=5\r\n', undefined],
    ['application/dtmf-relay', undefined, undefined],
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

  const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name] });

  it.each([
    ['+ escaped in the From user part', { From: '<sip:%2B494136555134@trunk.example.org>;tag=1' }, '+494136555134'],
    ['national, in From', { From: '"Caller" <sip:04136555134@trunk.example.org>;tag=1' }, '+494136555134'],
    ['0049 with separators', { From: 'sip:0049-4136-555134@trunk.example.org;tag=1' }, '+494136555134'],
    ['P-Asserted-Identity before From', { From: '<sip:+4999999999@spoofed.example>;tag=1', 'P-Asserted-Identity': '<sip:+494136555134@trunk.example.org>' }, '+494136555134'],
    ['a tel: identity', { From: '<sip:anonymous@anonymous.invalid>;tag=1', 'P-Asserted-Identity': '"Meyer" <tel:+49-4136-555134>' }, '+494136555134'],
    ['two identities, the first without a number', { From: '<sip:x@y>', 'P-Asserted-Identity': '<sip:anonymous@invalid>, <tel:+494136555134>' }, '+494136555134'],
    ['a list without a space', { From: '<sip:x@y>', 'P-Asserted-Identity': '<sip:anonymous@invalid>,<tel:+494136555134>' }, '+494136555134'],
    ['a list with a display name close to the URI', { From: '<sip:x@y>', 'P-Asserted-Identity': '<sip:anonymous@invalid>, "Zentrale"<tel:+494136555134>' }, '+494136555134'],
    ['a list with a display name', { From: '<sip:x@y>', 'P-Asserted-Identity': '<sip:anonymous@invalid>, "Zentrale" <tel:+494136555134>' }, '+494136555134'],
    ['a list of bare URIs', { From: '<sip:x@y>', 'P-Asserted-Identity': 'sip:anonymous@invalid, sip:+494136555134@trunk.example.org' }, '+494136555134'],
    ['a list of bare URIs without a space', { From: '<sip:x@y>', 'P-Asserted-Identity': 'sip:anonymous@invalid,tel:+494136555134' }, '+494136555134'],
    ['a PBX extension, kept as it is', { From: '<sip:4711@pbx.example.org>;tag=1' }, '4711'],
  ])('reads the caller from %s, in E.164', (_case, values, expected) => {
    expect(callerNumberOf(headers(values), '49')).toBe(expected);
  });

  it('gives no number for a withheld or nameless caller', () => {
    expect(callerNumberOf(headers({ From: '"+49 999" <sip:anonymous@anonymous.invalid>;tag=1' }), '49')).toBeUndefined();
    expect(callerNumberOf(headers({}), '49')).toBeUndefined();
    // Only sip:, sips: and tel: URIs carry a caller's number.
    expect(callerNumberOf(headers({ From: '<urn:tel:+494136555134>;tag=1' }), '49')).toBeUndefined();
  });
});

describe('the number that was dialled', () => {
  const request = (uri: string, to: string) => ({ uri, get: (name: string) => (name === 'To' ? to : undefined) });

  it('is read from the Request-URI, or from To where the provider puts it there', () => {
    const req = request('sip:+494136123456@gateway.example.org', '<sip:0413612345@tel.provider.de>');
    expect(calledNumberOf(req, 'request-uri', '49')).toBe('+494136123456');
    expect(calledNumberOf(req, 'to', '49')).toBe('+49413612345');
  });

  it('keeps a PBX extension and gives nothing without a number', () => {
    expect(calledNumberOf(request('sip:800@pbx.example.org', ''), 'request-uri', '49')).toBe('800');
    expect(calledNumberOf(request('sip:gateway.example.org', ''), 'request-uri', '49')).toBeUndefined();
  });
});

describe('telephone numbers in E.164', () => {
  it.each([
    ['+49 4136 123456', '+494136123456'],
    ['0049 (4136) 123-456', '+494136123456'],
    ['04136/123456', '+494136123456'],
    ['494136123456', '+494136123456'],
    ['tel:+44 20 7946 0018', '+442079460018'],
    ['anonymous', undefined],
    ['+0 123', undefined],
    ['+1234567890123456', undefined],
    ['4711', undefined],
  ])('%s → %s', (raw, expected) => {
    expect(toE164(raw, '49')).toBe(expected);
  });
});

describe('how a call that was hung up from outside ended', () => {
  it.each([
    ['kicked', 'bridged', 0, 'kicked'],
    ['service-stopping', 'collecting', 0, 'service-stopped'],
    ['cancelled', 'answering', 0, 'cancelled'],
    // Jitsi Meet withdrew its invitation while the callee's phone rang.
    ['cancelled', 'ringing', 0, 'cancelled'],
    ['caller-hung-up', 'bridged', 0, 'completed'],
    ['caller-hung-up', 'connecting', 0, 'cancelled'],
    ['jigasi-hung-up', 'connecting', 0, 'jigasi-failed'],
    ['media-lost', 'connecting', 0, 'media-failed'],
    ['failed', 'connecting', 0, 'media-failed'],
    ['caller-hung-up', 'collecting', 2, 'pin-failed'],
    ['caller-hung-up', 'collecting', 0, 'answered-no-pin'],
    ['caller-hung-up', 'calling', 0, 'not-answered'],
    ['caller-hung-up', 'ringing', 0, 'not-answered'],
    ['media-lost', 'ringing', 0, 'media-failed'],
    ['caller-hung-up', 'waiting-for-key', 0, 'declined'],
    ['failed', 'waiting-for-key', 0, 'media-failed'],
    ['caller-hung-up', 'answering', 0, 'answered-no-pin'],
    ['media-lost', 'answering', 0, 'media-failed'],
  ] as const)('%s while %s (%i wrong PINs) → %s', (reason, state, wrongPins, outcome) => {
    expect(outcomeOfHangUp(reason, state, wrongPins)).toBe(outcome);
  });
});

describe('screening', () => {
  const config = loadConfig(testEnv({ SIP_TRUSTED_SOURCES: '192.0.2.0/24,2001:db8::/32' }));
  const input = { sourceAddress: '192.0.2.7', fromTrunk: false, userAgent: 'SBC', hasContact: true, sessionExpiresSeconds: undefined as number | undefined, activeCalls: 0, mediaAvailable: true };

  it('admits a trusted source, also as an IPv4-mapped IPv6 address', () => {
    expect(screen(input, config.sipTrustedSources, 10)).toEqual({ admit: true });
    expect(screen({ ...input, sessionExpiresSeconds: 90 }, config.sipTrustedSources, 10)).toEqual({ admit: true });
    expect(screen({ ...input, sourceAddress: '::ffff:192.0.2.7' }, config.sipTrustedSources, 10)).toEqual({ admit: true });
    expect(screen({ ...input, sourceAddress: '2001:db8::5' }, config.sipTrustedSources, 10)).toEqual({ admit: true });
  });

  it.each([
    [{ sourceAddress: '203.0.113.9' }, 403, 'untrusted-source'],
    [{ sourceAddress: 'not-an-ip' }, 403, 'untrusted-source'],
    [{ userAgent: 'friendly-scanner' }, 403, 'scanner'],
    [{ hasContact: false }, 400, 'no-contact'],
    [{ userAgent: 'friendly-scanner', hasContact: false }, 403, 'scanner'],
    [{ activeCalls: 10 }, 486, 'busy'],
    [{ mediaAvailable: false }, 503, 'media-unavailable'],
  ])('%j → %i %s', (change, status, reason) => {
    expect(screen({ ...input, ...change }, config.sipTrustedSources, 10)).toEqual({ admit: false, status, reason });
  });

  it('refuses a session timer shorter than 90 s with 422 and Min-SE (RFC 4028 §9)', () => {
    expect(screen({ ...input, sessionExpiresSeconds: 89 }, config.sipTrustedSources, 10)).toEqual({ admit: false, status: 422, reason: 'session-interval-too-small', headers: { 'Min-SE': '90' } });
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

  it('releases a call once however often its release is called, and still counts the calls held', () => {
    const pool = new JigasiPool(['sip:b', 'sip:a']);
    const first = pool.hold('sip:a');
    pool.hold('sip:a');
    pool.hold('sip:b');
    first();
    first();
    // One call each: the configured order decides.
    expect(pool.order()).toEqual(['sip:b', 'sip:a']);
    pool.hold('sip:b');
    expect(pool.order()).toEqual(['sip:a', 'sip:b']);
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
