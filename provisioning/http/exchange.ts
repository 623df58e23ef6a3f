import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../../core/metrics';
import { redactUrl } from '../../core/privacy';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * How a finished request is logged: "info" one line each; "debug" successful ones only at
 * debug level (failures still warn); "off" never (health checks, metrics scrapes).
 */
type RequestLogging = 'info' | 'debug' | 'off';

export interface Observation {
  logger: Logger;
  metrics: Metrics;
  logging: RequestLogging;
  /** The route label of the metrics; Express knows it only after routing. */
  route: () => string;
  /** The client's address (client-address.ts): a trusted proxy's client, else the socket's peer. */
  client: string;
}

/**
 * What every HTTP request gets, whichever router answers it: a request id (the caller's, when
 * it is a sane token), the headers every answer carries, and once it is finished one log line
 * with secret query values redacted, and the request metrics. Returns the request id.
 */
export function observeExchange(req: IncomingMessage, res: ServerResponse, { logger, metrics, logging, route, client }: Observation): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  const url = req.url ?? '';
  const stopTimer = metrics.httpDuration.startTimer();
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const status = res.statusCode;
    const label = route();
    stopTimer({ route: label });
    metrics.httpRequests.inc({ method: req.method ?? '', route: label, status: String(status) });
    if (logging === 'off') return;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : logging;
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
      {
        requestId: id,
        method: req.method,
        url: redactUrl(url),
        status,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        remoteAddress: client,
        problem: status >= 400 ? (res as ServerResponse & { locals?: { problem?: string } }).locals?.problem : undefined,
      },
      'request completed',
    );
  });
  return id;
}
