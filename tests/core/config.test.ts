import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from '../../core/config';
import { testEnv } from '../support/service';

describe('configuration from the environment', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ JWT_SECRET: 'x'.repeat(32), JITSI_MUC_DOMAIN: 'conference.meet.example.org', JIGASI_URIS: 'sip:10.0.0.5:5060' });
    expect(config).toMatchObject({
      drachtio: { host: '127.0.0.1', port: 9022, secret: 'cymru' },
      freeswitch: { host: '127.0.0.1', port: 8021, secret: 'ClueCon', listenAddress: '127.0.0.1', advertisedAddress: '127.0.0.1' },
      http: { host: '0.0.0.0', port: 8080 },
      dbPath: './data/dialin.sqlite',
      auth: { algorithm: 'HS256', audience: 'dialin-api' },
      jigasiRoomHeader: 'Jitsi-Conference-Room',
      jigasiPasswordHeader: 'Jitsi-Conference-Room-Pass',
      pinLength: 8,
      pinAttempts: 3,
      pinFailuresPerHour: 10,
      maxCalls: 200,
      callerIdMode: 'masked',
      language: 'de',
      callRecordRetentionDays: 30,
      mapperPinTtlDays: 90,
      mapperAutoCreate: true,
      corsOrigins: [],
      logLevel: 'info',
    });
    expect(config.sipTrustedSources.entries).toEqual([]);
  });

  it('parses lists', () => {
    const config = loadConfig(
      testEnv({
        JIGASI_URIS: 'sip:jigasi1.example.org, sip:jigasi2.example.org:5070',
        SIP_TRUSTED_SOURCES: '192.0.2.0/24, 2001:db8::/32, 198.51.100.7',
        CORS_ORIGINS: 'https://meet.example.org',
      }),
    );
    expect(config.jigasiUris).toEqual(['sip:jigasi1.example.org', 'sip:jigasi2.example.org:5070']);
    expect(config.sipTrustedSources.blockList.check('192.0.2.77', 'ipv4')).toBe(true);
    expect(config.sipTrustedSources.blockList.check('192.0.3.1', 'ipv4')).toBe(false);
    expect(config.sipTrustedSources.blockList.check('2001:db8::1', 'ipv6')).toBe(true);
    expect(config.sipTrustedSources.blockList.check('198.51.100.7', 'ipv4')).toBe(true);
    expect(config.dialInNumbers).toEqual([
      { countryCode: 'DE', formattedNumber: '+49 4136 123456' },
      { countryCode: 'AT', formattedNumber: '+43 1 234567' },
    ]);
  });

  it.each([
    ['PIN_LENGTH', '5'],
    ['PIN_LENGTH', 'eight'],
    ['HTTP_PORT', '70000'],
    ['MAX_CALLS', '-1'],
    ['JWT_SECRET', 'too-short'],
    ['JIGASI_URIS', 'jigasi.example.org'],
    ['JIGASI_URIS', ''],
    ['JITSI_MUC_DOMAIN', ''],
    ['JITSI_MUC_DOMAIN', 'not a domain'],
    ['DIALIN_NUMBERS', '+49 4136 123456'],
    ['SIP_TRUSTED_SOURCES', '192.0.2.0/33'],
    ['SIP_TRUSTED_SOURCES', 'example.org'],
    ['CALLER_ID_MODE', 'visible'],
    ['LANGUAGE', 'fr'],
    ['MAPPER_AUTO_CREATE', 'maybe'],
    ['CORS_ORIGINS', 'https://meet.example.org/path'],
    ['FREESWITCH_LISTEN_ADDRESS', 'localhost'],
    ['JIGASI_ROOM_HEADER', 'X Room'],
    ['LOG_LEVEL', 'verbose'],
    ['JWT_PUBLIC_KEY', 'not a pem'],
  ])('stops with a message naming %s when it is %j', (variable, value) => {
    const run = () => loadConfig(testEnv({ [variable]: value }));
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(new RegExp(`^${variable}: `));
  });

  it('refuses both JWT_SECRET and JWT_PUBLIC_KEY, since the algorithm must be unambiguous', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => loadConfig(testEnv({ JWT_PUBLIC_KEY: pem }))).toThrow(/JWT_PUBLIC_KEY: set either/);
    expect(loadConfig(testEnv({ JWT_SECRET: '', JWT_PUBLIC_KEY: pem })).auth.algorithm).toBe('ES256');
  });

  it('refuses to start without any JWT key', () => {
    expect(() => loadConfig(testEnv({ JWT_SECRET: undefined }))).toThrow(/^JWT_SECRET \(or JWT_PUBLIC_KEY\): required but empty/);
  });

  it('names every REQUIRED line left empty in .env.example at once, when only JWT_SECRET is filled', () => {
    const example = parseEnv(readFileSync(join(__dirname, '../../.env.example'), 'utf8'));
    expect(() => loadConfig({ ...example, JWT_SECRET: 'x'.repeat(32) })).toThrow(
      'JITSI_MUC_DOMAIN, JIGASI_URIS: required but empty; fill them in .env (see .env.example)',
    );
    expect(() => loadConfig(example)).toThrow(/^JWT_SECRET \(or JWT_PUBLIC_KEY\), JITSI_MUC_DOMAIN, JIGASI_URIS: required but empty/);
  });
});
