import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { DirectoryError } from '../directory';

/** SPEC §3's error body: {"error":{"code","message"}}. Messages never carry secrets or stack traces. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
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

export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof DirectoryError) return new ApiError(DIRECTORY_STATUS[error.kind], error.kind, error.message);
  const type = (error as { type?: unknown })?.type;
  if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) return BODY_PARSER_ERRORS[type];
  const status = (error as { status?: unknown })?.status;
  if (error instanceof URIError || status === 400) return new ApiError(400, 'malformed-request', 'the request URL could not be decoded');
  return undefined;
}

export function errorBody(error: ApiError): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: error.message } };
}

/** For an error nobody foresaw: the log gets the details, the client the request id. */
export const INTERNAL_ERROR = new ApiError(500, 'internal', 'internal error; the request id in the X-Request-Id header helps the operator find it');

export function sendError(res: Parameters<RequestHandler>[1], error: ApiError): void {
  res.status(error.status).json(errorBody(error));
}

export function notFoundHandler(): RequestHandler {
  return (req, res) => sendError(res, new ApiError(404, 'not-found', `no route for ${req.method} ${req.path}`));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known = toApiError(error);
    if (known) {
      sendError(res, known);
      return;
    }
    logger.error({ err: error, requestId: res.locals.requestId, method: req.method, path: req.path }, 'request failed');
    sendError(res, INTERNAL_ERROR);
  };
}
