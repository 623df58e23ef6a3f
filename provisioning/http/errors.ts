import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { DirectoryError } from '../directory';

/** SPEC §3's error body: {"error":{"code","message"}}. Messages never carry secrets or stack traces. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Fields a client of another format expects beside ours (Jitsi Meet's mapper: id, conference). */
    readonly alongside: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const DIRECTORY_STATUS = { 'not-found': 404, conflict: 409, invalid: 422 } as const;

/** body-parser's error types, mapped to what a client can act on. */
const BODY_PARSER_ERRORS: Record<string, ApiError> = {
  'entity.parse.failed': new ApiError(400, 'malformed-json', 'the body is not valid JSON'),
  'entity.too.large': new ApiError(413, 'payload-too-large', 'the body is too large'),
  'encoding.unsupported': new ApiError(415, 'unsupported-media-type', 'the body encoding is not supported'),
  'charset.unsupported': new ApiError(415, 'unsupported-media-type', 'the body must be UTF-8 JSON'),
  'request.aborted': new ApiError(400, 'aborted', 'the request was aborted'),
  'request.size.invalid': new ApiError(400, 'malformed-body', 'the body length does not match Content-Length'),
};

function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof DirectoryError) return new ApiError(DIRECTORY_STATUS[error.kind], error.kind, error.message);
  const type = (error as { type?: unknown })?.type;
  if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) return BODY_PARSER_ERRORS[type];
  const status = (error as { status?: unknown })?.status;
  if (error instanceof URIError || status === 400) return new ApiError(400, 'malformed-request', 'the request URL could not be decoded');
  return undefined;
}

export function errorBody(error: ApiError): { error: { code: string; message: string } } {
  return { ...error.alongside, error: { code: error.code, message: error.message } };
}

/** For an error nobody foresaw: the log gets the details, the client the request id. */
const INTERNAL_ERROR = new ApiError(500, 'internal', 'internal error; the request id in the X-Request-Id header helps the operator find it');

/** What a client is told about an error; one nobody foresaw is logged with its details first. */
export function answerFor(error: unknown, logger: Logger, context: { requestId: string; method?: string; path: string }): ApiError {
  const known = toApiError(error);
  if (known) return known;
  logger.error({ err: error, ...context }, 'request failed');
  return INTERNAL_ERROR;
}

export function noRoute(method: string | undefined, path: string): ApiError {
  return new ApiError(404, 'not-found', `no route for ${method} ${path}`);
}

export function sendError(res: Parameters<RequestHandler>[1], error: ApiError): void {
  // For the request's log line (exchange.ts): what the client was told, never a secret.
  res.locals.problem = error.message;
  res.status(error.status).json(errorBody(error));
}

export function notFoundHandler(): RequestHandler {
  return (req, res) => sendError(res, noRoute(req.method, req.path));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    sendError(res, answerFor(error, logger, { requestId: String(res.locals.requestId), method: req.method, path: req.path }));
  };
}
