import { z } from 'zod';
import { clientAddress } from '../http/client-address';
import { SESSION_COOKIE, sessionToken } from '../http/auth';
import { ApiError } from '../http/errors';
import { defineRoute, type RouteSpec } from '../http/route';
import { wellFormedText } from '../http/schemas';
import type { ApiDependencies } from './deps';

/** The admin console's sign-in (SPEC §6): a session in an httpOnly, SameSite=Strict cookie. */

const signInBody = z.strictObject({
  name: wellFormedText(64),
  password: wellFormedText(256),
});

export function sessionRoutes({ accounts, config, directory }: ApiDependencies): RouteSpec[] {
  const attributes = `Path=/; HttpOnly; SameSite=Strict${config.session.cookieSecure ? '; Secure' : ''}`;
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/session',
      summary: 'Sign in to the admin console; sets the session cookie',
      body: signInBody,
      responses: { 204: 'signed in', 401: 'wrong name or password' },
      handle: async ({ req, res, body }) => {
        const result = await accounts.signIn(body.name, body.password, clientAddress(req, config.trustedProxies));
        if (!result.ok) {
          if (result.problem === 'locked') throw new ApiError(429, 'too-many-sign-ins', 'too many wrong passwords; wait 15 minutes');
          throw new ApiError(401, 'unauthorized', 'wrong name or password');
        }
        await directory.audit(`user:${body.name}`, 'session.sign-in', body.name);
        res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${result.token}; ${attributes}`);
        res.status(204).end();
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/session',
      summary: 'Who is signed in with the session cookie',
      responses: { 200: '{name, role}', 401: 'no session' },
      handle: async ({ req, res }) => {
        const token = sessionToken(req);
        const account = token === undefined ? undefined : await accounts.session(token);
        if (!account) throw new ApiError(401, 'unauthorized', 'not signed in');
        res.json(account);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/v1/session',
      summary: 'Sign out: ends the session and clears the cookie',
      responses: { 204: 'signed out' },
      handle: async ({ req, res }) => {
        const token = sessionToken(req);
        if (token !== undefined) await accounts.signOut(token);
        res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; ${attributes}; Max-Age=0`);
        res.status(204).end();
      },
    }),
  ];
}
