import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { CallRegistry } from '../gateway/call-registry';
import { startGateway } from '../gateway/gateway';
import { Trunks } from '../gateway/trunks';
import { DialOutService } from '../gateway/dial-outs';
import { Accounts, SESSION_LIMITS } from '../provisioning/accounts';
import { DialOutPolicy } from '../gateway/dial-out-policy';
import { PinDirectory } from '../provisioning/directory';
import { createHttpApi, type HttpApi } from '../provisioning/http/app';
import { createHttpServer } from '../provisioning/http/server';
import { PinResolver } from '../provisioning/pin-resolver';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ClusterCalls } from '../provisioning/cluster-calls';
import { openStore } from '../provisioning/store/open';
import { PostgresStore } from '../provisioning/store/postgres';
import type { Store } from '../provisioning/store/store';
import type { Config } from '../core/config';
import { scheduleMaintenance } from '../provisioning/maintenance';
import { createMetrics, type Metrics } from '../core/metrics';
import { Readiness } from '../core/readiness';

export interface RunningService {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8080 */
  url: string;
  server: Server;
  http: HttpApi;
  directory: PinDirectory;
  resolver: PinResolver;
  calls: CallRegistry;
  trunks: Trunks;
  dialOuts: DialOutService;
  readiness: Readiness;
  /** SIGTERM: takes no new calls and resolves once the calls in progress have ended (at most DRAIN_SECONDS). */
  drain(cutShort?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** The SIP side reports these once it is connected; until then /readyz says they are down. */
const SIP_DEPENDENCIES = ['drachtio', 'freeswitch'];

export interface ServiceOptions {
  /** false: HTTP API and storage only, no connection to drachtio-server or FreeSWITCH (tests of the API). */
  sip: boolean;
  /** The process's metrics, when the caller already counts into them (app/main.ts). */
  metrics?: Metrics;
}

/** A reason the service cannot start that the operator fixes in the configuration: one line, no stack. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'is in use by another program: stop it or choose another HTTP_PORT',
  EACCES: 'may not be opened by this user (ports below 1024 need privileges): choose another HTTP_PORT',
  EADDRNOTAVAIL: 'names an address this host does not have: check HTTP_HOST',
};

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const problem = error.code === undefined ? undefined : LISTEN_PROBLEMS[error.code];
      reject(problem ? new StartupError(`HTTP_HOST ${host}, HTTP_PORT ${port} ${problem} (${error.code})`) : error);
    });
    server.listen(port, host, () => resolve());
  });
}

/** The database, or one line saying why it cannot be used (PostgreSQL unreachable, wrong password, a newer schema). */
async function openDatabase(config: Config): Promise<Store> {
  try {
    return await openStore(config);
  } catch (error) {
    if (config.databaseUrl === undefined) throw error;
    throw new StartupError(`DATABASE_URL: ${(error as Error).message}`);
  }
}

/** Starts storage, the PIN directory, the HTTP API and the SIP gateway in this process. */
export async function startService(config: Config, logger: Logger, options: ServiceOptions = { sip: true }): Promise<RunningService> {
  const store = await openDatabase(config);
  const directory = new PinDirectory({
    store,
    pinLength: config.pinLength,
    mapperAutoCreate: config.mapperAutoCreate,
    mapperMaxRooms: config.mapperMaxRooms,
    mapperPinTtlDays: config.mapperPinTtlDays,
  });
  const resolver = await PinResolver.create({
    store,
    mucDomain: config.jitsiMucDomain,
    pinFailuresPerHour: config.pinFailuresPerHour,
    pinFailuresGlobalPerHour: config.pinFailuresGlobalPerHour,
  });
  const calls = new CallRegistry();
  const readiness = new Readiness(SIP_DEPENDENCIES);
  const metrics = options.metrics ?? createMetrics();
  const trunks = new Trunks(config.trunks, readiness, metrics, logger.child({ component: 'trunks' }));
  const dialOuts = new DialOutService(
    new DialOutPolicy(config.dialOut, store),
    { countryCode: config.countryCode, maxCalls: config.maxCalls, jigasiRoomHeader: config.jigasiRoomHeader, mucDomain: config.jitsiMucDomain },
    calls,
    store,
    () => trunks.registered(),
    metrics,
    logger.child({ component: 'dial-outs' }),
  );
  const accounts = new Accounts(store, { idleMs: config.session.idleMinutes * 60_000, ...SESSION_LIMITS });
  // With PostgreSQL several processes may run: each one's API shows and acts on every call.
  const cluster = store instanceof PostgresStore ? new ClusterCalls(calls, store.cluster(), `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`, logger.child({ component: 'cluster' })) : undefined;
  const http = createHttpApi({ config, directory, liveCalls: cluster ?? calls, trunks, dialOuts, readiness, metrics, store, accounts }, logger);
  const server = createHttpServer(http.handle, config.trustedProxies);
  try {
    await listen(server, config.http.host, config.http.port);
  } catch (error) {
    await store.close();
    throw error;
  }

  if (config.sipTrustedSources.entries.length === 0) {
    logger.warn('SIP_TRUSTED_SOURCES is empty: INVITEs from any address will be accepted');
  }
  const gateway = options.sip ? startGateway({ config, resolver, store, registry: calls, trunks, dialOuts, readiness, metrics, logger }) : undefined;
  cluster?.start();
  const stopMaintenance = scheduleMaintenance({
    store,
    directory,
    resolver,
    callRecordRetentionDays: config.callRecordRetentionDays,
    auditRetentionDays: config.auditRetentionDays,
    sessionIdleMs: config.session.idleMinutes * 60_000,
    logger,
  });

  const { port } = server.address() as AddressInfo;
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  logger.info({ host: config.http.host, port }, 'HTTP API listening');

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    server,
    http,
    directory,
    resolver,
    calls,
    trunks,
    dialOuts,
    readiness,
    async drain(cutShort) {
      await gateway?.drain(cutShort);
    },
    async stop() {
      stopMaintenance();
      await gateway?.stop();
      await cluster?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
