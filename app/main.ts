import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../core/config';
import { createLogger } from '../core/logger';
import { createMetrics } from '../core/metrics';
import { uncaughtExceptionHandler, unhandledRejectionHandler } from './process-errors';
import { StartupError, startService } from './service';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`dialin: configuration error: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const metrics = createMetrics();
  const processErrors = { logger, unexpectedErrors: metrics.unexpectedErrors, exit: (code: number) => process.exit(code) };
  process.on('unhandledRejection', unhandledRejectionHandler(processErrors));
  process.on('uncaughtException', uncaughtExceptionHandler(processErrors));
  const service = await startService(config, logger, { sip: true, metrics });
  const stopNow = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // SIGTERM drains (the calls in progress go on, DRAIN_SECONDS at most); a second one, or SIGINT, ends them now.
  let draining: AbortController | undefined;
  process.on('SIGTERM', () => {
    if (draining) {
      logger.info('second SIGTERM: ending the calls now');
      draining.abort();
      return;
    }
    draining = new AbortController();
    service.drain(draining.signal).then(
      () => stopNow('SIGTERM'),
      (error: unknown) => {
        logger.error({ err: error }, 'draining failed; stopping');
        stopNow('SIGTERM');
      },
    );
  });
  process.once('SIGINT', () => stopNow('SIGINT'));
}

main().catch((error: unknown) => {
  const text = error instanceof StartupError ? error.message : ((error as Error).stack ?? String(error));
  process.stderr.write(`dialin: cannot start: ${text}\n`);
  process.exit(1);
});
