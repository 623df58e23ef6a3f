import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { AccountRole, Store } from './store/store';

/**
 * The accounts of the admin console (SPEC §6): passwords as scrypt hashes, sessions behind a
 * random token whose SHA-256 alone is stored, ended after SESSION_IDLE_MINUTES without a
 * request. Sign-in attempts are limited per account and per client address, so neither one
 * account's password nor many accounts' passwords can be guessed at speed.
 */

export const ACCOUNT_ROLES = ['admin', 'clerk', 'viewer'] as const satisfies readonly AccountRole[];

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keyLength: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/**
 * One of OWASP's equivalent scrypt minimums (N=2^15, r=8, p=3): 32 MB per hash, so the four
 * threads of libuv's pool hashing at once need 128 MB, not the 512 MB of N=2^17.
 */
const SCRYPT = { N: 2 ** 15, r: 8, p: 3, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

export const PASSWORD_MIN_LENGTH = 12;
/** A sign-in with an unknown name costs a hash too, so the answer's time does not tell which names exist. */
const UNKNOWN_ACCOUNT_HASH = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${randomBytes(16).toString('base64')}$${randomBytes(KEY_LENGTH).toString('base64')}`;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_LENGTH, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return timingSafeEqual(actual, expected);
}

export function passwordProblem(password: string): string | undefined {
  if ([...password].length < PASSWORD_MIN_LENGTH) return `a password needs at least ${PASSWORD_MIN_LENGTH} characters`;
  if ([...password].length > 256) return 'a password may have at most 256 characters';
  return undefined;
}

const NAME = /^[\p{L}\p{N}._@-]{1,64}$/u;

export function accountNameProblem(name: string): string | undefined {
  return NAME.test(name) ? undefined : 'a name has 1–64 letters, digits and . _ - @';
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');

export interface SessionSettings {
  idleMs: number;
  /** Wrong passwords per account, and per client address, in `windowMs`. */
  failuresPerAccount: number;
  failuresPerAddress: number;
  windowMs: number;
}

export const SESSION_LIMITS = { failuresPerAccount: 5, failuresPerAddress: 20, windowMs: 15 * 60_000 };

export type SignIn = { ok: true; token: string; role: AccountRole } | { ok: false; problem: 'wrong' | 'locked' };

export interface SignedIn {
  name: string;
  role: AccountRole;
}

/** Sessions are touched at most this often: a page that polls must not write on every request. */
const TOUCH_EVERY_MS = 60_000;

export class Accounts {
  constructor(
    private readonly store: Store,
    private readonly settings: SessionSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async signIn(name: string, password: string, address: string): Promise<SignIn> {
    // Counted in the database before the hash is checked: parallel attempts, also those other
    // processes of the service take, each see the ones before them.
    const attempt = randomBytes(12).toString('base64url');
    const taken = await this.store.takeLimitedAttempt({
      id: attempt,
      keys: [
        { key: `account:${name}`, limit: this.settings.failuresPerAccount },
        { key: `address:${address}`, limit: this.settings.failuresPerAddress },
      ],
      at: this.now(),
      since: this.now() - this.settings.windowMs,
    });
    if (!taken) return { ok: false, problem: 'locked' };
    const account = await this.store.getAccount(name);
    const matches = await passwordMatches(password, account?.passwordHash ?? UNKNOWN_ACCOUNT_HASH);
    if (!account || !matches) return { ok: false, problem: 'wrong' };
    await this.store.refundLimitedAttempt(attempt);
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.store.insertSession({ tokenHash: tokenHash(token), account: name, createdAt: now, lastSeenAt: now });
    return { ok: true, token, role: account.role };
  }

  /** The account behind a session token, or undefined when there is none or it was idle too long. */
  async session(token: string): Promise<SignedIn | undefined> {
    const hash = tokenHash(token);
    const session = await this.store.getSession(hash);
    if (!session) return undefined;
    const now = this.now();
    if (now - session.lastSeenAt > this.settings.idleMs) {
      await this.store.deleteSession(hash);
      return undefined;
    }
    if (now - session.lastSeenAt >= TOUCH_EVERY_MS) await this.store.touchSession(hash, now);
    return { name: session.account, role: session.role };
  }

  async signOut(token: string): Promise<void> {
    await this.store.deleteSession(tokenHash(token));
  }
}
