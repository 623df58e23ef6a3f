import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { TrustedSources } from '../../core/config';
import type { Metrics } from '../../core/metrics';
import { clientAddress } from './client-address';
import { corsFor } from './cors';
import { answerFor, errorBody, noRoute } from './errors';
import { observeExchange } from './exchange';
import { parseInput, type RouteDescription } from './route';

/**
 * The endpoints every Jitsi Meet browser calls when someone opens the invite dialog: public,
 * GET only, answered straight from node:http before Express sees the request. On a 2-core
 * machine Express 5 alone tops out near 3,500 requests/s; these must carry 10,000 lookups/s.
 */
export interface PublicRouteSpec<Query extends z.ZodType = z.ZodType> extends RouteDescription {
  method: 'get';
  query: Query;
  /** The JSON answer; an ApiError thrown here becomes the error format. */
  answer: (call: { query: z.infer<Query>; client: string }) => unknown;
}

export function definePublicRoute<Query extends z.ZodType>(spec: PublicRouteSpec<Query>): PublicRouteSpec {
  return spec;
}

function writeJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json) });
  res.end(req.method === 'HEAD' ? undefined : json);
}

export interface PublicRouteOptions {
  corsOrigins: string[];
  trustedProxies: TrustedSources;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Serves the public routes; anything else is left to the next handler (returns false).
 * Paths match exactly. Successful lookups are logged at debug level only: each is a browser's
 * address and a room name, which the service has no need to keep.
 */
export function publicRouteServer(routes: PublicRouteSpec[], { corsOrigins, trustedProxies, metrics, logger }: PublicRouteOptions) {
  const byPath = new Map(routes.map((route) => [route.path, route]));
  const cors = corsFor(corsOrigins);

  async function respond(route: PublicRouteSpec, req: IncomingMessage, res: ServerResponse, rawQuery: string, requestId: string, client: string): Promise<void> {
    try {
      const query = parseInput(route.query, parseQueryString(rawQuery), 'query');
      writeJson(req, res, 200, await route.answer({ query, client }));
    } catch (error) {
      const answer = answerFor(error, logger, { requestId, method: req.method, path: route.path });
      writeJson(req, res, answer.status, errorBody(answer));
    }
  }

  return {
    /** "get /conferenceMapper" for each route served here, for the OpenAPI check. */
    served: routes.map((route) => `${route.method} ${route.path}`),

    serve(req: IncomingMessage, res: ServerResponse): boolean {
      const url = req.url ?? '/';
      const queryStart = url.indexOf('?');
      const route = byPath.get(queryStart === -1 ? url : url.slice(0, queryStart));
      if (!route) return false;
      const client = clientAddress(req, trustedProxies);
      const requestId = observeExchange(req, res, { logger, metrics, logging: 'debug', route: () => route.path, client });
      if (cors(req, res)) return true;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        writeJson(req, res, 404, errorBody(noRoute(req.method, route.path)));
        return true;
      }
      respond(route, req, res, queryStart === -1 ? '' : url.slice(queryStart + 1), requestId, client).catch((error: unknown) => {
        logger.error({ err: error, requestId }, 'could not answer a public request');
        res.destroy();
      });
      return true;
    },
  };
}
