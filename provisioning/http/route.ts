import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { AuthConfig } from '../../core/config';
import { requireScope, type Scope, type Sessions } from './auth';
import { ApiError } from './errors';

/**
 * What the OpenAPI document says about a route. Every route is described once, next to how it
 * is served, so the two cannot drift apart.
 */
export interface RouteDescription {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  /** Express syntax: /api/v1/rooms/:room */
  path: string;
  scope?: Scope;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Status codes this route answers with, beyond the error codes every route shares. */
  responses: Record<number, string>;
}

/** A route served by Express: the admin API, health and metrics. */
export interface RouteSpec<Body extends z.ZodType = z.ZodType, Query extends z.ZodType = z.ZodType> extends RouteDescription {
  body?: Body;
  query?: Query;
  handle: (call: RouteCall<z.infer<Body>, z.infer<Query>>) => Promise<void> | void;
}

export interface RouteCall<Body, Query> {
  req: Request;
  res: Response;
  body: Body;
  query: Query;
  /** The token subject of an authenticated call, for the audit log. */
  actor: string;
}

export function defineRoute<Body extends z.ZodType, Query extends z.ZodType>(spec: RouteSpec<Body, Query>): RouteSpec {
  return spec;
}

/** zod issues as one readable sentence: "label: Too big: expected string to have <=64 characters". */
function describeIssues(error: z.ZodError, where: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${[where, ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ');
}

export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError(422, 'invalid', describeIssues(result.error, where));
  return result.data;
}

/** A body is only accepted as JSON; a request without one is read as {}. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    throw new ApiError(415, 'unsupported-media-type', 'send the body as Content-Type: application/json');
  }
  next();
};

/** Bodies are read only after the token was accepted, so strangers cannot make us parse anything. */
export function mountRoutes(app: Express, routes: RouteSpec[], auth: AuthConfig, sessions: Sessions, bodyLimitBytes: number): void {
  const jsonParser = express.json({ limit: bodyLimitBytes, strict: true });
  for (const route of routes) {
    const middleware: RequestHandler[] = [];
    if (route.scope) middleware.push(requireScope(auth, route.scope, sessions));
    if (route.body) middleware.push(requireJsonBody, jsonParser);
    app[route.method](route.path, ...middleware, async (req: Request, res: Response) => {
      const body = route.body ? parseInput(route.body, req.body ?? {}, 'body') : undefined;
      const query = route.query ? parseInput(route.query, req.query, 'query') : undefined;
      await route.handle({ req, res, body, query, actor: String(res.locals.sub ?? 'anonymous') });
    });
  }
}
