import type { Logger } from 'pino';

/**
 * The process's last line of defence. Every promise of the gateway's own has an owner (the
 * linter enforces it) and every call is its own error boundary (gateway/call-scope.ts), so what
 * reaches these handlers is a library's promise nobody awaited — drachtio-fsmrf sends the BYE of
 * an endpoint FreeSWITCH did not connect back in time without awaiting it, and drachtio-server
 * answers "unable to find dialog" (ENODIALOG) when FreeSWITCH already ended that dialog — or a
 * bug. Either concerns one call or one request: it is logged and counted
 * (dialin_unexpected_errors_total{boundary="process"}), and the other calls go on.
 */

/**
 * The process is unusable only when its database is: SQLite reports the file corrupt, not a
 * database, unreadable (disk I/O), unopenable, or moved away while open. Every call and API
 * request would fail from then on; the process exits so its supervisor (Docker's restart
 * policy, systemd) restarts it and the operator sees it. With PostgreSQL (DATABASE_URL) no error
 * is of that kind: the pool drops a broken connection and opens a new one for the next query,
 * so a database that was away is used again once it is back; meanwhile /readyz reports it.
 */
const DATABASE_UNUSABLE = /^SQLITE_(CORRUPT|NOTADB|IOERR|CANTOPEN|READONLY_DBMOVED)/;

export function leavesProcessUnusable(reason: unknown): boolean {
  const code = (reason as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && DATABASE_UNUSABLE.test(code);
}

export interface ProcessErrorParts {
  logger: Logger;
  unexpectedErrors: { inc(labels: { boundary: 'process' }): void };
  exit: (code: number) => void;
}

export function unhandledRejectionHandler({ logger, unexpectedErrors, exit }: ProcessErrorParts): (reason: unknown) => void {
  return (reason) => {
    unexpectedErrors.inc({ boundary: 'process' });
    if (leavesProcessUnusable(reason)) {
      logger.fatal({ err: reason }, 'the database is unusable; exiting so the service is restarted');
      exit(70);
      return;
    }
    const code = (reason as { code?: unknown } | null | undefined)?.code;
    if (code === 'ENODIALOG') logger.warn({ err: reason }, 'a library ended a SIP dialog drachtio-server had already closed');
    else logger.error({ err: reason }, 'a promise nobody awaited failed; the service goes on');
  };
}

/** A throw outside any promise leaves state nobody can vouch for (Node's own advice): log it, then exit. */
export function uncaughtExceptionHandler({ logger, unexpectedErrors, exit }: ProcessErrorParts): (error: Error) => void {
  return (error) => {
    unexpectedErrors.inc({ boundary: 'process' });
    logger.fatal({ err: error }, 'uncaught exception; exiting');
    exit(70);
  };
}
