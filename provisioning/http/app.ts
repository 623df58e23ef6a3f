import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { auditRoutes } from '../routes/audit';
import { callRoutes } from '../routes/calls';
import { consoleRoutes } from '../routes/console';
import { trunkRoutes } from '../routes/trunks';
import { dialOutRoutes } from '../routes/dial-outs';
import type { ApiDependencies } from '../routes/deps';
import { healthRoutes } from '../routes/health';
import { jitsiRoutes } from '../routes/jitsi';
import { pinRoutes } from '../routes/pins';
import { roomRoutes } from '../routes/rooms';
import { sessionRoutes } from '../routes/session';
import { clientAddress } from './client-address';
import { builtConsoleDir, consoleFiles } from './console-files';
import { errorHandler, notFoundHandler } from './errors';
import { observeExchange } from './exchange';
import { buildOpenApiDocument } from './openapi';
import { publicRouteServer } from './public-route';
import { defineRoute, mountRoutes } from './route';

/** Admin bodies are a few hundred bytes; anything near this limit is a mistake or an attack. */
const BODY_LIMIT_BYTES = 16 * 1024;
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const API_VERSION = '1.0.0';

export interface HttpApi {
  /** The HTTP server's request listener. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** What serves the rest, for checks that read its router. */
  express: Express;
  /** "get /conferenceMapper"…: what is answered before Express. */
  publicServed: string[];
}

function observed(deps: ApiDependencies, logger: Logger): RequestHandler {
  return (req, res, next) => {
    res.locals.requestId = observeExchange(req, res, {
      logger,
      metrics: deps.metrics,
      logging: QUIET_PATHS.has(req.path) ? 'off' : 'info',
      route: () => ((req.route as { path?: string } | undefined)?.path) ?? 'unmatched',
      client: clientAddress(req, deps.config.trustedProxies),
    });
    next();
  };
}

/** The whole HTTP API: Jitsi Meet's public endpoints first, then Express for everything else. */
export function createHttpApi(deps: ApiDependencies, logger: Logger): HttpApi {
  const publicRoutes = jitsiRoutes(deps);
  const routes = [...healthRoutes(deps), ...roomRoutes(deps), ...pinRoutes(deps), ...callRoutes(deps), ...dialOutRoutes(deps), ...trunkRoutes(deps), ...auditRoutes(deps), ...sessionRoutes(deps), ...consoleRoutes(deps)];
  const openApiRoute = defineRoute({
    method: 'get',
    path: '/api/v1/openapi.json',
    summary: 'This document',
    responses: { 200: 'the OpenAPI document' },
    handle: ({ res }) => {
      res.json(document);
    },
  });
  const document = buildOpenApiDocument([...publicRoutes, ...routes, openApiRoute], API_VERSION);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(observed(deps, logger));
  app.use(consoleFiles(builtConsoleDir()));
  mountRoutes(app, [...routes, openApiRoute], deps.config.auth, deps.accounts, BODY_LIMIT_BYTES);
  app.use(notFoundHandler());
  app.use(errorHandler(logger));

  const publicServer = publicRouteServer(publicRoutes, { corsOrigins: deps.config.corsOrigins, trustedProxies: deps.config.trustedProxies, metrics: deps.metrics, logger });
  return {
    handle: (req, res) => {
      if (!publicServer.serve(req, res)) app(req, res);
    },
    express: app,
    publicServed: publicServer.served,
  };
}
