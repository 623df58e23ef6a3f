import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from '../../core/config';
import { tempDir, testEnv } from '../support/service';

describe('configuration from the environment', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ JWT_SECRET: 'x'.repeat(32), JITSI_MUC_DOMAIN: 'conference.meet.example.org', JIGASI_URIS: 'sip:10.0.0.5:5060' });
    expect(config).toMatchObject({
      drachtio: { host: '127.0.0.1', port: 9022, secret: 'cymru' },
      freeswitch: { servers: [{ host: '127.0.0.1', port: 8021 }], secret: 'ClueCon', listenAddress: '127.0.0.1', advertisedAddress: '127.0.0.1' },
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
      'JITSI_MUC_DOMAIN, JIGASI_URIS: required but empty; fill them in .env (cp .env.example .env, then every line marked REQUIRED) and start again',
    );
    expect(() => loadConfig(example)).toThrow(/^JWT_SECRET \(or JWT_PUBLIC_KEY\), JITSI_MUC_DOMAIN, JIGASI_URIS: required but empty/);
  });
});

describe('trunks', () => {
  const TRUNK_ENV = { TRUNK_REGISTRAR: 'sip:reg1.provider.de, sip:reg2.provider.de', TRUNK_USER: '0413612345', TRUNK_PASSWORD: 'trunk-secret', TRUNK_NUMBERS: '04136 123456, +49 4136 123457' };

  it('registers nowhere without TRUNK_REGISTRAR or TRUNKS_FILE', () => {
    expect(loadConfig(testEnv()).trunks).toEqual([]);
  });

  it('reads one trunk from TRUNK_*, with the numbers in E.164 and the documented defaults', () => {
    expect(loadConfig(testEnv(TRUNK_ENV)).trunks).toEqual([
      {
        name: 'trunk',
        registrars: ['sip:reg1.provider.de', 'sip:reg2.provider.de'],
        transport: 'udp',
        user: '0413612345',
        authUser: '0413612345',
        password: 'trunk-secret',
        expires: 600,
        numbers: ['+494136123456', '+494136123457'],
        callerId: '+494136123456',
        calledNumberFrom: 'request-uri',
      },
    ]);
  });

  it.each([
    ['TRUNK_USER', { TRUNK_USER: '' }],
    ['TRUNK_PASSWORD', { TRUNK_PASSWORD: '' }],
    ['TRUNK_NUMBERS', { TRUNK_NUMBERS: '' }],
    ['TRUNK_NUMBERS', { TRUNK_NUMBERS: '+49 4136 123456, call me' }],
    ['TRUNK_REGISTRAR', { TRUNK_REGISTRAR: 'reg.provider.de' }],
    ['TRUNK_OUTBOUND_PROXY', { TRUNK_OUTBOUND_PROXY: 'sbc.provider.de' }],
    ['TRUNK_EXPIRES', { TRUNK_EXPIRES: '30' }],
    ['TRUNK_TRANSPORT', { TRUNK_TRANSPORT: 'ws' }],
    ['TRUNK_CALLER_ID', { TRUNK_CALLER_ID: 'Gemeinde' }],
    ['TRUNK_CALLED_NUMBER', { TRUNK_CALLED_NUMBER: 'from' }],
    ['COUNTRY_CODE', { COUNTRY_CODE: '+49' }],
  ])('stops with a message naming %s when a trunk setting is wrong (%j)', (variable, change) => {
    const run = () => loadConfig(testEnv({ ...TRUNK_ENV, ...change }));
    expect(run).toThrow(new RegExp(`^${variable}: `));
  });

  it('reads several trunks from TRUNKS_FILE, a password also from a file of its own', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, 'secret'), 'from-a-file\n');
      const file = join(dir.path, 'trunks.json');
      writeFileSync(
        file,
        JSON.stringify([
          { name: 'telekom', registrar: 'sip:tel.t-online.de', user: '0413612345', password: 'one', numbers: ['+494136123456'], transport: 'tcp', realm: 'tel.t-online.de' },
          { name: 'sipgate', registrar: ['sip:sipgate.de', 'sip:sipgate.co.uk'], user: '123', authUser: 'u123', passwordFile: join(dir.path, 'secret'), numbers: ['0413699'], callerId: '0413699', expires: 300, calledNumberFrom: 'to' },
        ]),
      );
      const trunks = loadConfig(testEnv({ TRUNKS_FILE: file })).trunks;
      expect(trunks.map(({ name, registrars, password, authUser, numbers, callerId, transport, realm, expires, calledNumberFrom }) => ({ name, registrars, password, authUser, numbers, callerId, transport, realm, expires, calledNumberFrom }))).toEqual([
        { name: 'telekom', registrars: ['sip:tel.t-online.de'], password: 'one', authUser: '0413612345', numbers: ['+494136123456'], callerId: '+494136123456', transport: 'tcp', realm: 'tel.t-online.de', expires: 600, calledNumberFrom: 'request-uri' },
        { name: 'sipgate', registrars: ['sip:sipgate.de', 'sip:sipgate.co.uk'], password: 'from-a-file', authUser: 'u123', numbers: ['+49413699'], callerId: '+49413699', transport: 'udp', realm: undefined, expires: 300, calledNumberFrom: 'to' },
      ]);
    } finally {
      dir.cleanup();
    }
  });

  it.each([
    ['not JSON', '[{', /cannot read .* as JSON/],
    ['an empty list', '[]', /\[\] /],
    ['an unknown field', JSON.stringify([{ name: 'a', registrar: 'sip:r.de', user: 'u', password: 'p', numbers: ['+4941361'], pasword: 'typo' }]), /pasword/],
    ['no password', JSON.stringify([{ name: 'a', registrar: 'sip:r.de', user: 'u', numbers: ['+4941361'] }]), /needs password or passwordFile/],
    ['two of one name', JSON.stringify([1, 2].map(() => ({ name: 'a', registrar: 'sip:r.de', user: 'u', password: 'p', numbers: ['+4941361'] }))), /a name of its own/],
    ['a password file that is not there', JSON.stringify([{ name: 'a', registrar: 'sip:r.de', user: 'u', passwordFile: '/nonexistent/secret', numbers: ['+4941361'] }]), /cannot read the password file \/nonexistent\/secret \(ENOENT\)/],
  ])('stops on a TRUNKS_FILE with %s, naming the file', (_what, content, message) => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'trunks.json');
      writeFileSync(file, content);
      const run = () => loadConfig(testEnv({ TRUNKS_FILE: file }));
      expect(run).toThrow(/^TRUNKS_FILE: /);
      expect(run).toThrow(message);
    } finally {
      dir.cleanup();
    }
  });

  it('refuses TRUNKS_FILE and TRUNK_REGISTRAR together', () => {
    expect(() => loadConfig(testEnv({ ...TRUNK_ENV, TRUNKS_FILE: '/etc/trunks.json' }))).toThrow(/^TRUNKS_FILE: set either/);
  });
});

describe('dial-out safeguards', () => {
  it('allow Germany, 30 calls an hour and 4 at once unless set', () => {
    expect(loadConfig(testEnv()).dialOut).toEqual({ allowed: ['+49'], denied: [], maxPerHour: 30, maxConcurrent: 4 });
  });

  it('read prefix lists with spaces after the commas', () => {
    expect(loadConfig(testEnv({ DIALOUT_ALLOWED: '+49, +43', DIALOUT_DENIED: '+49180,+49700' })).dialOut).toMatchObject({ allowed: ['+49', '+43'], denied: ['+49180', '+49700'] });
  });

  it.each([
    ['DIALOUT_ALLOWED', { DIALOUT_ALLOWED: '0049' }],
    ['DIALOUT_ALLOWED', { DIALOUT_ALLOWED: '+49, all' }],
    ['DIALOUT_DENIED', { DIALOUT_DENIED: '+' }],
    ['DIALOUT_MAX_PER_HOUR', { DIALOUT_MAX_PER_HOUR: '-1' }],
    ['DIALOUT_MAX_CONCURRENT', { DIALOUT_MAX_CONCURRENT: 'many' }],
  ])('stop with a message naming %s when it is wrong (%j)', (variable, change) => {
    expect(() => loadConfig(testEnv(change))).toThrow(new RegExp(`^${variable}: `));
  });
});

describe('FREESWITCH_CODECS', () => {
  it("is FreeSWITCH's codec_prefs: names, lower-case, without their rate and ptime; PCMA, PCMU, G722 and OPUS by default", () => {
    expect(loadConfig(testEnv({})).freeswitch.codecs).toEqual(['pcma', 'pcmu', 'g722', 'opus']);
    expect(loadConfig(testEnv({ FREESWITCH_CODECS: 'G722@16000h@20i, PCMA' })).freeswitch.codecs).toEqual(['g722', 'pcma']);
  });

  it.each([',,', 'PCMA;PCMU', 'PCMA,G 722'])('refuses %j', (value) => {
    expect(() => loadConfig(testEnv({ FREESWITCH_CODECS: value }))).toThrow(/^FREESWITCH_CODECS: must be codec names separated by commas/);
  });
});

describe('FREESWITCH_SERVERS', () => {
  it('lists several FreeSWITCH servers, port 8021 when left out; without it the one of FREESWITCH_HOST and FREESWITCH_PORT', () => {
    expect(loadConfig(testEnv({ FREESWITCH_SERVERS: 'fs1.example.org:8022, 10.0.0.5' })).freeswitch.servers).toEqual([
      { host: 'fs1.example.org', port: 8022 },
      { host: '10.0.0.5', port: 8021 },
    ]);
    expect(loadConfig(testEnv({ FREESWITCH_HOST: 'media.example.org', FREESWITCH_PORT: '8023' })).freeswitch.servers).toEqual([{ host: 'media.example.org', port: 8023 }]);
  });

  it.each([
    ['fs1:99999', /entries look like/],
    ['fs 1:8021', /entries look like/],
    ['fs1:8021,fs1', /fs1:8021 is listed twice/],
  ])('refuses %s', (value, message) => {
    expect(() => loadConfig(testEnv({ FREESWITCH_SERVERS: value }))).toThrow(message);
  });
});
