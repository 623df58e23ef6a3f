import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { toE164 } from './phone-number';

/**
 * The whole configuration of the service (SPEC §2), parsed and checked once at start.
 * Nothing else in the code base reads process.env.
 */
export type Env = Record<string, string | undefined>;

export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';

export interface AuthConfig {
  algorithm: JwtAlgorithm;
  /** HS256 shared secret; only set when algorithm is HS256. */
  secret?: string;
  /** The key tokens are checked with: the secret as a KeyObject (made once, not per request) or the public key. */
  verificationKey: KeyObject;
  audience: string;
  issuer?: string;
  /** JWT_MAX_TTL: the longest lifetime (exp − iat) a token may have, in seconds. */
  maxTtlSeconds: number;
}

export interface DialInNumber {
  countryCode: string;
  formattedNumber: string;
}

export type CallerIdMode = 'masked' | 'anonymous' | 'full';
export type Language = 'de' | 'en';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** A list of addresses and CIDRs (SIP_TRUSTED_SOURCES, TRUSTED_PROXIES). */
export interface TrustedSources {
  entries: string[];
  blockList: BlockList;
}

/** A SIP trunk the gateway registers with (SPEC §6 "Trunks"). */
export interface TrunkConfig {
  name: string;
  /** SIP URIs of the registrar: the first, and the next ones when it fails. */
  registrars: string[];
  outboundProxy?: string;
  transport: 'udp' | 'tcp' | 'tls';
  user: string;
  authUser: string;
  /** Never logged, never shown by the API. */
  password: string;
  /** The realm to answer challenges for; any when unset. */
  realm?: string;
  /** The registration lifetime asked for, in seconds. */
  expires: number;
  /** The numbers the trunk carries, E.164. */
  numbers: string[];
  /** The number shown to people the gateway calls, E.164. */
  callerId: string;
  /** Where a provider puts the number that was dialled: the Request-URI or the To header. */
  calledNumberFrom: 'request-uri' | 'to';
}

export interface Config {
  drachtio: { host: string; port: number; secret: string };
  freeswitch: {
    /** FREESWITCH_SERVERS, or the one server of FREESWITCH_HOST and FREESWITCH_PORT; all share the secret and addresses below. */
    servers: Array<{ host: string; port: number }>;
    secret: string;
    listenAddress: string;
    advertisedAddress: string;
    /** FREESWITCH_CODECS: what FreeSWITCH speaks (its codec_prefs), lower-case names such as "pcma", "g722". */
    codecs: string[];
  };
  http: { host: string; port: number };
  dbPath: string;
  /** DATABASE_URL: PostgreSQL for several processes; unset, the SQLite file at dbPath. */
  databaseUrl: string | undefined;
  auth: AuthConfig;
  jitsiMucDomain: string;
  jigasiUris: string[];
  /** Seconds between SIP OPTIONS health checks of the Jigasi instances; 0 turns them off. */
  jigasiHealthCheckSeconds: number;
  jigasiRoomHeader: string;
  jigasiPasswordHeader: string;
  dialInNumbers: DialInNumber[];
  pinLength: number;
  pinAttempts: number;
  pinFailuresPerHour: number;
  /** Wrong PINs an hour over all callers before every entry is slowed down (rotating caller numbers). */
  pinFailuresGlobalPerHour: number;
  maxCalls: number;
  /** COUNTRY_CODE: where a national number (0…) is, for E.164 (core/phone-number.ts). */
  countryCode: string;
  /** Who may send INVITEs; empty: everyone. */
  sipTrustedSources: TrustedSources;
  /** Reverse proxies whose X-Forwarded-For/Forwarded name the client; empty: the socket's peer is the client. */
  trustedProxies: TrustedSources;
  /** TRUNK_* or TRUNKS_FILE; empty: the gateway registers nowhere (a trunk with IP authentication). */
  trunks: TrunkConfig[];
  /** Toll-fraud safeguards for calls the gateway places (gateway/dial-out-policy.ts). */
  dialOut: { allowed: string[]; denied: string[]; maxPerHour: number; maxConcurrent: number };
  callerIdMode: CallerIdMode;
  language: Language;
  promptsDir?: string;
  callRecordRetentionDays: number;
  /** Days an audit log entry (who changed what, when) is kept. */
  auditRetentionDays: number;
  mapperPinTtlDays: number;
  mapperAutoCreate: boolean;
  /** Mapper-made rooms there may be at most; past it the mapper answers 429. */
  mapperMaxRooms: number;
  corsOrigins: string[];
  /** The admin console's sessions (provisioning/accounts.ts). */
  session: { cookieSecure: boolean; idleMinutes: number };
  /** DRAIN_SECONDS: after SIGTERM, how long calls in progress may go on before they are ended. */
  drainSeconds: number;
  /** MUNICIPALITY_NAME: the sender of the console's letters; empty leaves the line out. */
  municipality: string;
  /** LISTENER_DISPLAY_NAME: what the room sees of a shared listeners' leg. */
  listenerDisplayName: string;
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** Reads one variable; empty strings count as unset so that `FOO=` in a .env file means "default". */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function text(env: Env, name: string, fallback: string): string {
  return read(env, name) ?? fallback;
}

function required(env: Env, name: string, hint: string): string {
  const value = read(env, name);
  if (value === undefined) throw new ConfigError(name, `is required (${hint})`);
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function list(env: Env, name: string): string[] {
  return (read(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** FREESWITCH_CODECS as FreeSWITCH reads codec_prefs ("PCMA,G722@16000h,OPUS"): the names, lower-case. */
function codecNames(env: Env): string[] {
  const value = text(env, 'FREESWITCH_CODECS', 'PCMA,PCMU,G722,OPUS');
  const names = value
    .split(',')
    .map((pref) => pref.trim())
    .filter((pref) => pref !== '')
    .map((pref) => pref.split('@')[0]!.trim().toLowerCase());
  if (names.length === 0 || names.some((name) => !/^[a-z0-9.-]+$/.test(name))) {
    throw new ConfigError('FREESWITCH_CODECS', `must be codec names separated by commas, e.g. "PCMA,PCMU,G722,OPUS", got "${value}"`);
  }
  return names;
}

function address(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  if (isIP(value) === 0) throw new ConfigError(name, `must be an IP address, got "${value}"`);
  return value;
}

const hostnamePattern = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function host(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  if (isIP(value) === 0 && !hostnamePattern.test(value.toLowerCase())) {
    throw new ConfigError(name, `must be a host name or IP address, got "${value}"`);
  }
  return value;
}

const DURATION = /^(\d{1,6})([smhd])$/;
const DURATION_UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** "30m", "8h", "90d" in seconds; undefined for anything else. */
export function durationSeconds(value: string): number | undefined {
  const match = DURATION.exec(value);
  if (!match) return undefined;
  const seconds = Number(match[1]) * DURATION_UNIT_SECONDS[match[2] as keyof typeof DURATION_UNIT_SECONDS];
  return seconds > 0 ? seconds : undefined;
}

function duration(env: Env, name: string, fallback: string, maxSeconds: number): number {
  const value = text(env, name, fallback);
  const seconds = durationSeconds(value);
  if (seconds === undefined || seconds > maxSeconds) {
    throw new ConfigError(name, `must look like 30m, 8h or 90d and be at most ${maxSeconds / 86400}d, got "${value}"`);
  }
  return seconds;
}

function parseAuth(env: Env): AuthConfig {
  const secret = read(env, 'JWT_SECRET');
  const publicKeyPem = read(env, 'JWT_PUBLIC_KEY');
  const audience = text(env, 'JWT_AUDIENCE', 'dialin-api');
  const issuer = read(env, 'JWT_ISSUER');
  const maxTtlSeconds = duration(env, 'JWT_MAX_TTL', '90d', 3650 * 86400);
  if (secret !== undefined && publicKeyPem !== undefined) {
    throw new ConfigError('JWT_PUBLIC_KEY', 'set either JWT_SECRET or JWT_PUBLIC_KEY, not both: the algorithm must be unambiguous');
  }
  if (secret !== undefined) {
    if (secret.length < 32) throw new ConfigError('JWT_SECRET', `must be at least 32 characters long, got ${secret.length}`);
    return { algorithm: 'HS256', secret, verificationKey: createSecretKey(Buffer.from(secret)), audience, issuer, maxTtlSeconds };
  }
  if (publicKeyPem !== undefined) {
    return { ...publicKeyAlgorithm(publicKeyPem.replace(/\\n/g, '\n')), audience, issuer, maxTtlSeconds };
  }
  throw new ConfigError('JWT_SECRET', 'is required (or JWT_PUBLIC_KEY): the admin API cannot check tokens without a key');
}

function publicKeyAlgorithm(pem: string): { algorithm: JwtAlgorithm; verificationKey: KeyObject } {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(pem);
  } catch (error) {
    throw new ConfigError('JWT_PUBLIC_KEY', `is not a PEM public key (${(error as Error).message})`);
  }
  if (publicKey.asymmetricKeyType === 'rsa') return { algorithm: 'RS256', verificationKey: publicKey };
  if (publicKey.asymmetricKeyType === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { algorithm: 'ES256', verificationKey: publicKey };
  }
  throw new ConfigError('JWT_PUBLIC_KEY', 'must be an RSA key (RS256) or a P-256 EC key (ES256)');
}

function parseDialInNumbers(env: Env): DialInNumber[] {
  return list(env, 'DIALIN_NUMBERS').map((entry) => {
    const match = /^([A-Za-z]{2}):(\+[\d ()/-]{4,30})$/.exec(entry);
    if (!match) throw new ConfigError('DIALIN_NUMBERS', `entries look like "DE:+49 4136 123456", got "${entry}"`);
    return { countryCode: match[1]!.toUpperCase(), formattedNumber: match[2]!.trim() };
  });
}

function parseJigasiUris(env: Env): string[] {
  const uris = list(env, 'JIGASI_URIS');
  for (const uri of uris) {
    if (!/^sips?:[^\s,<>"]+$/i.test(uri)) throw new ConfigError('JIGASI_URIS', `"${uri}" is not a SIP URI (sip:host[:port])`);
  }
  return uris;
}

function parseTrustedSources(env: Env, name: string): TrustedSources {
  const blockList = new BlockList();
  const entries = list(env, name);
  for (const entry of entries) {
    const [ip = '', prefixText, ...rest] = entry.split('/');
    const family = isIP(ip);
    const width = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? width : Number(prefixText);
    if (family === 0 || rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > width) {
      throw new ConfigError(name, `"${entry}" is not an address or CIDR like 192.0.2.0/24`);
    }
    blockList.addSubnet(ip, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return { entries, blockList };
}

const sipUri = z.string().trim().regex(/^sips?:[^\s,<>"]+$/i, 'must be a SIP URI like sip:sip.provider.de');

const trunkFileEntry = z.strictObject({
  name: z.string().trim().regex(/^[\w.-]{1,40}$/, 'letters, digits, ".", "_" and "-", at most 40'),
  registrar: z.union([sipUri, z.array(sipUri).min(1).max(3)]),
  outboundProxy: sipUri.optional(),
  transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
  user: z.string().trim().min(1),
  authUser: z.string().trim().min(1).optional(),
  password: z.string().min(1).optional(),
  passwordFile: z.string().min(1).optional(),
  realm: z.string().trim().min(1).optional(),
  expires: z.number().int().min(60).max(86_400).default(600),
  numbers: z.array(z.string()).min(1),
  callerId: z.string().optional(),
  calledNumberFrom: z.enum(['request-uri', 'to']).default('request-uri'),
});

/** One trunk from TRUNK_* (named "trunk"), or several from the JSON array in TRUNKS_FILE. */
function parseTrunks(env: Env, country: string): TrunkConfig[] {
  const file = read(env, 'TRUNKS_FILE');
  if (file !== undefined) {
    if (read(env, 'TRUNK_REGISTRAR') !== undefined) throw new ConfigError('TRUNKS_FILE', 'set either TRUNKS_FILE or TRUNK_REGISTRAR, not both');
    let entries: unknown;
    try {
      entries = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError('TRUNKS_FILE', `cannot read ${file} as JSON (${(error as Error).message})`);
    }
    const parsed = z.array(trunkFileEntry).min(1).safeParse(entries);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError('TRUNKS_FILE', `${file}: [${issue.path.join('.')}] ${issue.message}`);
    }
    const names = parsed.data.map((entry) => entry.name);
    if (new Set(names).size !== names.length) throw new ConfigError('TRUNKS_FILE', `${file}: every trunk needs a name of its own`);
    return parsed.data.map((entry, index) => {
      const problem = (message: string) => new ConfigError('TRUNKS_FILE', `${file}: [${index}] ${message}`);
      const password = entry.password ?? (entry.passwordFile === undefined ? undefined : readSecretFile(entry.passwordFile, problem));
      if (password === undefined) throw problem('needs password or passwordFile');
      const registrars = Array.isArray(entry.registrar) ? entry.registrar : [entry.registrar];
      return trunk({ ...entry, registrars, password, authUser: entry.authUser ?? entry.user }, country, problem);
    });
  }
  const registrar = read(env, 'TRUNK_REGISTRAR');
  if (registrar === undefined) return [];
  const registrars = list(env, 'TRUNK_REGISTRAR');
  for (const uri of registrars) if (!sipUri.safeParse(uri).success) throw new ConfigError('TRUNK_REGISTRAR', `"${uri}" is not a SIP URI like sip:sip.provider.de`);
  const user = required(env, 'TRUNK_USER', 'the user name the provider gave you');
  const proxy = read(env, 'TRUNK_OUTBOUND_PROXY');
  if (proxy !== undefined && !sipUri.safeParse(proxy).success) throw new ConfigError('TRUNK_OUTBOUND_PROXY', `"${proxy}" is not a SIP URI`);
  return [
    trunk(
      {
        name: 'trunk',
        registrars,
        outboundProxy: proxy,
        transport: oneOf(env, 'TRUNK_TRANSPORT', 'udp', ['udp', 'tcp', 'tls']),
        user,
        authUser: text(env, 'TRUNK_AUTH_USER', user),
        password: required(env, 'TRUNK_PASSWORD', 'the password the provider gave you'),
        realm: read(env, 'TRUNK_REALM'),
        expires: integer(env, 'TRUNK_EXPIRES', 600, 60, 86_400),
        numbers: list(env, 'TRUNK_NUMBERS'),
        callerId: read(env, 'TRUNK_CALLER_ID'),
        calledNumberFrom: oneOf(env, 'TRUNK_CALLED_NUMBER', 'request-uri', ['request-uri', 'to']),
      },
      country,
      (message, variable = 'TRUNK_NUMBERS') => new ConfigError(variable, message),
    ),
  ];
}

type TrunkFields = Omit<TrunkConfig, 'numbers' | 'callerId'> & { numbers: string[]; callerId?: string };
/** A ConfigError for one trunk; `variable` names the TRUNK_* setting where there is one. */
type TrunkProblem = (message: string, variable?: 'TRUNK_NUMBERS' | 'TRUNK_CALLER_ID') => ConfigError;

/** The numbers in E.164, the caller ID one of them (or the first). */
function trunk(fields: TrunkFields, country: string, problem: TrunkProblem): TrunkConfig {
  if (fields.numbers.length === 0) throw problem('names no number the trunk carries');
  const numbers = fields.numbers.map((number) => {
    const e164 = toE164(number, country);
    if (e164 === undefined) throw problem(`"${number}" is not a telephone number`);
    return e164;
  });
  const callerId = fields.callerId === undefined ? numbers[0]! : toE164(fields.callerId, country);
  if (callerId === undefined) throw problem(`"${fields.callerId}" is not a telephone number`, 'TRUNK_CALLER_ID');
  return { ...fields, numbers, callerId };
}

function readSecretFile(path: string, problem: (message: string) => ConfigError): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw problem(`cannot read the password file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Comma-separated E.164 prefixes such as "+49, +43"; "+" and at least one digit each. */
function numberPrefixes(env: Env, name: string, fallback: string): string[] {
  const prefixes = read(env, name) === undefined ? list({ [name]: fallback }, name) : list(env, name);
  for (const prefix of prefixes) {
    if (!/^\+[1-9]\d{0,14}$/.test(prefix)) throw new ConfigError(name, `"${prefix}" is not a number prefix like +49 or +494136`);
  }
  return prefixes;
}

function countryCode(env: Env): string {
  const value = text(env, 'COUNTRY_CODE', '49');
  if (!/^[1-9]\d{0,2}$/.test(value)) throw new ConfigError('COUNTRY_CODE', `must be a country calling code without "+" or "00", like 49, got "${value}"`);
  return value;
}

function parseCorsOrigins(env: Env): string[] {
  return list(env, 'CORS_ORIGINS').map((origin) => {
    if (origin === '*') return origin;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin like https://meet.example.org`);
    }
    if (url.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError('CORS_ORIGINS', `"${origin}" must be a bare origin (scheme://host[:port]) without a path`);
    }
    return url.origin;
  });
}

function parseMucDomain(env: Env): string {
  const domain = required(env, 'JITSI_MUC_DOMAIN', 'e.g. conference.meet.example.org').toLowerCase();
  if (!hostnamePattern.test(domain)) throw new ConfigError('JITSI_MUC_DOMAIN', `"${domain}" is not a domain name`);
  return domain;
}

const sipHeaderName = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

function headerName(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  if (!sipHeaderName.test(value)) throw new ConfigError(name, `"${value}" is not a valid SIP header name`);
  return value;
}

/** Only where the database lives; used by the `dialin backup` command. */
export function loadDbPath(env: Env): string {
  return text(env, 'DB_PATH', './data/dialin.sqlite');
}

/** FREESWITCH_SERVERS "fs1.example.org:8021,fs2.example.org" (port 8021 when left out); without it FREESWITCH_HOST and FREESWITCH_PORT. */
function freeswitchServers(env: Env): Array<{ host: string; port: number }> {
  const listed = list(env, 'FREESWITCH_SERVERS');
  if (listed.length === 0) return [{ host: host(env, 'FREESWITCH_HOST', '127.0.0.1'), port: integer(env, 'FREESWITCH_PORT', 8021, 1, 65535) }];
  const servers = listed.map((entry) => {
    const match = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(entry);
    const port = Number(match?.[2] ?? 8021);
    if (!match || (isIP(match[1]!) === 0 && !hostnamePattern.test(match[1]!.toLowerCase())) || port < 1 || port > 65535) {
      throw new ConfigError('FREESWITCH_SERVERS', `entries look like "fs1.example.org:8021" or "10.0.0.5", got "${entry}"`);
    }
    return { host: match[1]!, port };
  });
  const names = servers.map(({ host: name, port }) => `${name}:${port}`);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice) throw new ConfigError('FREESWITCH_SERVERS', `${twice} is listed twice`);
  return servers;
}

export function loadDatabaseUrl(env: Env): string | undefined {
  const url = read(env, 'DATABASE_URL');
  if (url !== undefined && !/^postgres(ql)?:\/\/[^\s]+$/.test(url)) throw new ConfigError('DATABASE_URL', 'must look like postgres://user:password@host:5432/dialin');
  return url;
}

/** Only what minting or checking tokens needs; used by the `dialin token` command. */
export function loadAuthConfig(env: Env): AuthConfig {
  return parseAuth(env);
}

/**
 * The variables without which the service is useless, checked together so that an operator who
 * left several empty learns of all of them at once.
 */
function checkRequired(env: Env): void {
  const missing = [
    read(env, 'JWT_SECRET') === undefined && read(env, 'JWT_PUBLIC_KEY') === undefined ? 'JWT_SECRET (or JWT_PUBLIC_KEY)' : undefined,
    read(env, 'JITSI_MUC_DOMAIN') === undefined ? 'JITSI_MUC_DOMAIN' : undefined,
    list(env, 'JIGASI_URIS').length === 0 ? 'JIGASI_URIS' : undefined,
  ].filter((name) => name !== undefined);
  if (missing.length > 0) {
    throw new ConfigError(missing.join(', '), `required but empty; fill ${missing.length === 1 ? 'it' : 'them'} in .env (cp .env.example .env, then every line marked REQUIRED) and start again`);
  }
}

export function loadConfig(env: Env): Config {
  checkRequired(env);
  const listenAddress = address(env, 'FREESWITCH_LISTEN_ADDRESS', '127.0.0.1');
  return {
    drachtio: {
      host: host(env, 'DRACHTIO_HOST', '127.0.0.1'),
      port: integer(env, 'DRACHTIO_PORT', 9022, 1, 65535),
      secret: text(env, 'DRACHTIO_SECRET', 'cymru'),
    },
    freeswitch: {
      servers: freeswitchServers(env),
      secret: text(env, 'FREESWITCH_SECRET', 'ClueCon'),
      listenAddress,
      advertisedAddress: host(env, 'FREESWITCH_ADVERTISED_ADDRESS', listenAddress),
      codecs: codecNames(env),
    },
    http: {
      host: address(env, 'HTTP_HOST', '0.0.0.0'),
      port: integer(env, 'HTTP_PORT', 8080, 0, 65535),
    },
    dbPath: loadDbPath(env),
    databaseUrl: loadDatabaseUrl(env),
    auth: parseAuth(env),
    jitsiMucDomain: parseMucDomain(env),
    jigasiUris: parseJigasiUris(env),
    jigasiHealthCheckSeconds: integer(env, 'JIGASI_HEALTH_CHECK_SECONDS', 30, 0, 3600),
    jigasiRoomHeader: headerName(env, 'JIGASI_ROOM_HEADER', 'Jitsi-Conference-Room'),
    jigasiPasswordHeader: headerName(env, 'JIGASI_PASSWORD_HEADER', 'Jitsi-Conference-Room-Pass'),
    dialInNumbers: parseDialInNumbers(env),
    pinLength: integer(env, 'PIN_LENGTH', 8, 6, 12),
    pinAttempts: integer(env, 'PIN_ATTEMPTS', 3, 1, 10),
    pinFailuresPerHour: integer(env, 'PIN_FAILURES_PER_HOUR', 10, 1, 1000),
    pinFailuresGlobalPerHour: integer(env, 'PIN_FAILURES_GLOBAL_PER_HOUR', 100, 1, 100_000),
    maxCalls: integer(env, 'MAX_CALLS', 200, 1, 10000),
    countryCode: countryCode(env),
    sipTrustedSources: parseTrustedSources(env, 'SIP_TRUSTED_SOURCES'),
    trustedProxies: parseTrustedSources(env, 'TRUSTED_PROXIES'),
    trunks: parseTrunks(env, countryCode(env)),
    callerIdMode: oneOf(env, 'CALLER_ID_MODE', 'masked', ['masked', 'anonymous', 'full']),
    language: oneOf(env, 'LANGUAGE', 'de', ['de', 'en']),
    promptsDir: read(env, 'PROMPTS_DIR'),
    callRecordRetentionDays: integer(env, 'CALL_RECORD_RETENTION_DAYS', 30, 1, 3650),
    auditRetentionDays: integer(env, 'AUDIT_RETENTION_DAYS', 365, 1, 3650),
    mapperPinTtlDays: integer(env, 'MAPPER_PIN_TTL_DAYS', 90, 1, 3650),
    mapperAutoCreate: boolean(env, 'MAPPER_AUTO_CREATE', true),
    mapperMaxRooms: integer(env, 'MAPPER_MAX_ROOMS', 10_000, 0, 1_000_000),
    dialOut: {
      allowed: numberPrefixes(env, 'DIALOUT_ALLOWED', '+49'),
      denied: numberPrefixes(env, 'DIALOUT_DENIED', ''),
      maxPerHour: integer(env, 'DIALOUT_MAX_PER_HOUR', 30, 0, 10_000),
      maxConcurrent: integer(env, 'DIALOUT_MAX_CONCURRENT', 4, 0, 1_000),
    },
    corsOrigins: parseCorsOrigins(env),
    session: { cookieSecure: boolean(env, 'COOKIE_SECURE', true), idleMinutes: integer(env, 'SESSION_IDLE_MINUTES', 30, 1, 24 * 60) },
    municipality: text(env, 'MUNICIPALITY_NAME', ''),
    listenerDisplayName: text(env, 'LISTENER_DISPLAY_NAME', 'Telefon-Zuhörer'),
    drainSeconds: integer(env, 'DRAIN_SECONDS', 3600, 0, 24 * 3600),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  };
}
