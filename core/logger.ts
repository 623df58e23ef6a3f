import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config';
import { REDACTED_LOG_PATHS } from './privacy';

export type { Logger } from 'pino';

/** The one pino instance of the process; every other logger is a child of it. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'dialin' },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
