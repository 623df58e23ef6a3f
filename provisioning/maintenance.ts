import type { Logger } from 'pino';
import type { PinDirectory } from './directory';
import type { PinResolver } from './pin-resolver';
import type { Store } from './store/store';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;

export interface MaintenanceParts {
  store: Store;
  directory: PinDirectory;
  resolver: PinResolver;
  callRecordRetentionDays: number;
  auditRetentionDays: number;
  /** Sessions of the admin console end after this long without a request (SESSION_IDLE_MINUTES). */
  sessionIdleMs: number;
  logger: Logger;
  now?: () => number;
}

/** Deletes what the service may no longer keep: old call records and audit entries, old PIN failures and sign-in attempts, unused mapper PINs, idle sessions. */
export async function runMaintenance(parts: MaintenanceParts): Promise<void> {
  const now = parts.now ?? Date.now;
  const callRecords = await parts.store.purgeCallRecords(now() - parts.callRecordRetentionDays * DAY_MS);
  const auditEntries = await parts.store.purgeAudit(now() - parts.auditRetentionDays * DAY_MS);
  const pinFailures = await parts.resolver.purgeOldFailures();
  const mapperPins = await parts.directory.purgeUnusedMapperPins();
  const sessions = await parts.store.purgeSessions(now() - parts.sessionIdleMs);
  // An hour: the longest window counted (dial-outs per hour; sign-ins count 15 minutes).
  const signInAttempts = await parts.store.purgeLimitedAttempts(now() - 60 * 60 * 1000);
  parts.logger.info({ callRecords, auditEntries, pinFailures, mapperPins, sessions, signInAttempts }, 'maintenance: deleted expired data');
}

/** Runs maintenance now and then hourly; the timer does not keep the process alive. */
export function scheduleMaintenance(parts: MaintenanceParts): () => void {
  const run = () => {
    runMaintenance(parts).catch((error: unknown) => parts.logger.error({ err: error }, 'maintenance failed'));
  };
  run();
  const timer = setInterval(run, MAINTENANCE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
