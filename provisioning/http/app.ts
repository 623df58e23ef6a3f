import { randomUUID } from 'node:crypto';
import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { redactUrl } from '../../service/privacy';
import { auditRoutes } from '../routes/audit';
import { callRoutes } from '../routes/calls';
import type { ApiDependencies } from '../routes/deps';
import { healthRoutes } from '../routes/health';
import { jitsiRoutes } from '../routes/jitsi';
import { pinRoutes } from '../routes/pins';
import { roomRoutes } from '../routes/rooms';
import { corsFor } from './cors';
import { errorHandler, notFoundHandler } from './errors';
import { buildOpenApiDocument } from './openapi';
import { defineRoute, mountRoutes, type RouteSpec } from './route';

/** Admin bodies are a few hundred bytes; anything near this limit is a mistake or an attack. */
const BODY_LIMIT_BYTES = 16 * 1024;
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

const API_VERSION = '1.0.0';

/** Every route the service answers, in the order they are matched. */
export function allRoutes(deps: ApiDependencies): RouteSpec[] {
  const routes = [
    ...healthRoutes(deps),
    ...jitsiRoutes(deps),
    ...roomRoutes(deps),
    ...pinRoutes(deps),
    ...callRoutes(deps),
    ...auditRoutes(deps),
  ];
  const openApiRoute = defineRoute({
    method: 'get',
    path: '/api/v1/openapi.json',
    summary: 'This document',
    responses: { 200: 'the OpenAPI document' },
    handle: ({ res }) => {
      res.json(document);
    },
  });
  const document = buildOpenApiDocument([...routes, openApiRoute], API_VERSION);
  return [...routes, openApiRoute];
}

/**
 * One log line per request, written when the response is finished: request id, method, the
 * URL with secret query values redacted, status and duration. Health checks are not logged.
 */
function requestLogging(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    if (QUIET_PATHS.has(req.path)) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      logger[level](
        {
          requestId: id,
          method: req.method,
          url: redactUrl(req.originalUrl),
          status,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          remoteAddress: req.ip,
        },
        'request completed',
      );
    });
    next();
  };
}

function metricsRecorder(deps: ApiDependencies): RequestHandler {
  return (req, res, next) => {
    const stopTimer = deps.metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      stopTimer({ route });
      deps.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

export function createApp(deps: ApiDependencies, logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestLogging(logger));
  app.use(metricsRecorder(deps));
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(['/conferenceMapper', '/phoneNumberList'], corsFor(deps.config.corsOrigins));
  mountRoutes(app, allRoutes(deps), deps.config.auth, BODY_LIMIT_BYTES);
  app.use(notFoundHandler());
  app.use(errorHandler(logger));
  return app;
}
