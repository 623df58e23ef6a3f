import type { Request, RequestHandler } from 'express';
import jwt, { type JwtPayload } from 'jsonwebtoken';
import type { AuthConfig } from '../../core/config';
import type { AccountRole } from '../store/store';
import { ApiError } from './errors';

export type Scope = 'dialin:read' | 'dialin:admin';

/** dialin:admin implies dialin:read. */
function grants(scopes: string[], needed: Scope): boolean {
  return scopes.includes(needed) || (needed === 'dialin:read' && scopes.includes('dialin:admin'));
}

function scopesOf(payload: JwtPayload): string[] {
  const claim: unknown = payload.scope ?? payload.scp;
  if (typeof claim === 'string') return claim.split(' ');
  if (Array.isArray(claim)) return claim.filter((item): item is string => typeof item === 'string');
  return [];
}

/** Seconds a token's times may be off this machine's clock. */
const CLOCK_TOLERANCE_SECONDS = 5;
const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);

/** What is wrong with a token, as an operator setting up an identity provider needs to hear it. */
function tokenProblem(error: unknown, auth: AuthConfig): string {
  if (error instanceof jwt.TokenExpiredError) return 'the token has expired';
  const message = error instanceof Error ? error.message : '';
  if (message.startsWith('jwt audience invalid')) {
    return `the token's audience (aud) is not "${auth.audience}": have the identity provider add it (Keycloak: an audience mapper on the client), or set JWT_AUDIENCE`;
  }
  if (message.startsWith('jwt issuer invalid')) return `the token's issuer (iss) is not "${auth.issuer}" (JWT_ISSUER)`;
  return 'the token is not valid for this service';
}

/** Checks a bearer token and returns its subject; the algorithm is the configured one and nothing else. */
export function verifyBearer(auth: AuthConfig, header: string | undefined, needed: Scope): string {
  // RFC 9110: the scheme is case-insensitive.
  const match = /^Bearer +([A-Za-z0-9_.~+/=-]+)$/i.exec(header ?? '');
  if (!match) throw unauthorized('an Authorization: Bearer <token> header is required');
  let payload: string | JwtPayload;
  try {
    payload = jwt.verify(match[1]!, auth.verificationKey, {
      algorithms: [auth.algorithm],
      audience: auth.audience,
      issuer: auth.issuer,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
  } catch (error) {
    throw unauthorized(tokenProblem(error, auth));
  }
  if (typeof payload === 'string' || typeof payload.exp !== 'number') throw unauthorized('the token must carry an exp claim');
  if (typeof payload.iat !== 'number') throw unauthorized('the token must carry an iat claim');
  // A token "issued" in the future would outlive JWT_MAX_TTL counted from now.
  if (payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) throw unauthorized('the token was issued in the future (iat); check the issuer\'s clock');
  if (payload.exp - payload.iat > auth.maxTtlSeconds) {
    throw unauthorized(`the token lives longer than this service allows (JWT_MAX_TTL, ${Math.round(auth.maxTtlSeconds / 86400)} days)`);
  }
  if (!grants(scopesOf(payload), needed)) throw new ApiError(403, 'forbidden', `the token lacks the scope ${needed}`);
  return typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : 'unknown';
}

/** The admin console's session: the account behind a cookie's token (provisioning/accounts.ts). */
export interface Sessions {
  session(token: string): Promise<{ name: string; role: AccountRole } | undefined>;
}

export const SESSION_COOKIE = 'dialin_session';

/** admin and clerk may change rooms, PINs, calls and dial-outs; a viewer only reads. */
const ROLE_SCOPES: Record<AccountRole, Scope[]> = { admin: ['dialin:admin'], clerk: ['dialin:admin'], viewer: ['dialin:read'] };

export function sessionToken(req: Request): string | undefined {
  for (const pair of (req.get('cookie') ?? '').split(';')) {
    const [name, value] = pair.trim().split('=');
    if (name === SESSION_COOKIE && value) return value;
  }
  return undefined;
}

/**
 * A write carrying the cookie must come from the console's own pages: SameSite=Strict keeps the
 * cookie off other sites' requests in today's browsers, and the Origin check covers the rest
 * (older browsers, a sibling subdomain). Behind a reverse proxy, Host must be passed on.
 */
function fromOwnPages(req: Request): boolean {
  const origin = req.get('origin');
  if (origin === undefined) return false;
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Express middleware: rejects requests without the scope. A Bearer token decides when there is
 * one; otherwise the session cookie. The subject goes to res.locals.sub for the audit log:
 * the token's `sub`, or `user:NAME` for an account.
 */
export function requireScope(auth: AuthConfig, needed: Scope, sessions: Sessions): RequestHandler {
  return async (req, res, next) => {
    const token = req.get('authorization') === undefined ? sessionToken(req) : undefined;
    if (token === undefined) {
      res.locals.sub = verifyBearer(auth, req.get('authorization'), needed);
      next();
      return;
    }
    const account = await sessions.session(token);
    if (!account) throw unauthorized('the session has ended; sign in again');
    if (!READS.has(req.method) && !fromOwnPages(req)) throw new ApiError(403, 'forbidden', 'a change with the session cookie must come from the admin console itself (Origin)');
    if (!grants(ROLE_SCOPES[account.role], needed)) throw new ApiError(403, 'forbidden', `the role ${account.role} may not do this`);
    res.locals.sub = `user:${account.name}`;
    next();
  };
}
