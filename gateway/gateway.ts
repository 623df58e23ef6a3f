import type { Logger } from 'pino';
import type { PinResolver } from '../provisioning/pin-resolver';
import type { Store } from '../provisioning/store/store';
import type { Config } from '../core/config';
import type { Readiness } from '../core/readiness';
import { Drain } from './drain';
import { SharedListening, type ListeningMetrics } from './shared-listening';
import { Call, type CallMetrics, type CallSettings } from './call';
import type { CallRegistry } from './call-registry';
import { connectDrachtio, connectFreeswitch, mediaResourceFramework } from './connections';
import { FreeswitchReadiness, MediaServerPool } from './media-servers';
import { JigasiPool } from './jigasi';
import { JigasiAddresses } from './jigasi-addresses';
import { watchJigasiHealth } from './jigasi-health';
import { PromptSet, builtInPromptsDir } from './prompts';
import type { Trunks } from './trunks';
import type { DialOutService } from './dial-outs';

export interface GatewayParts {
  config: Config;
  resolver: PinResolver;
  store: Store;
  registry: CallRegistry;
  /** Registered from the moment drachtio-server is there; unregistered on stop. */
  trunks: Trunks;
  /** Places its calls with the gateway's connections once they exist. */
  dialOuts: DialOutService;
  readiness: Readiness;
  metrics: CallMetrics & ListeningMetrics;
  logger: Logger;
}

/** The part of the configuration a call needs. */
export function callSettings(config: Config): CallSettings {
  return {
    trustedSources: config.sipTrustedSources,
    maxCalls: config.maxCalls,
    pinAttempts: config.pinAttempts,
    callerIdMode: config.callerIdMode,
    language: config.language,
    jigasiRoomHeader: config.jigasiRoomHeader,
    jigasiPasswordHeader: config.jigasiPasswordHeader,
    countryCode: config.countryCode,
    codecs: config.freeswitch.codecs,
  };
}

/**
 * Calls still up when the service stops are hung up on every side, so no FreeSWITCH channel and
 * no Jigasi participant outlives the gateway; within Docker's default 10 s stop grace.
 */
const CALLS_END_WITHIN_MS = 5_000;

/** Connects to drachtio-server and FreeSWITCH and takes calls; each INVITE becomes a Call. */
export interface RunningGateway {
  /** SIGTERM: no new calls; resolves once the calls in progress have ended (drain.ts). */
  drain(cutShort?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

export function startGateway({ config, resolver, store, registry, trunks, dialOuts, readiness, metrics, logger }: GatewayParts): RunningGateway {
  const log = logger.child({ component: 'gateway' });
  const promptsDir = config.promptsDir ?? builtInPromptsDir();
  const prompts = new PromptSet(promptsDir, config.language);
  if (prompts.missing.length > 0) {
    log.warn({ promptsDir, language: config.language, missing: prompts.missing }, 'prompts missing; callers hear a tone instead');
  }
  const jigasi = new JigasiPool(config.jigasiUris);
  const jigasiAddresses = new JigasiAddresses(config.jigasiUris, log);
  jigasiAddresses.start();
  const drachtio = connectDrachtio(config, readiness, logger);
  const mrf = mediaResourceFramework(drachtio);
  const freeswitchStates = new FreeswitchReadiness(readiness, config.freeswitch.servers.map(({ host, port }) => `${host}:${port}`));
  const freeswitches = config.freeswitch.servers.map((server) => connectFreeswitch(server, config, mrf, freeswitchStates, logger));
  const media = new MediaServerPool(freeswitches);
  // A REGISTER sent before drachtio-server is there would only fail and push the next try back.
  drachtio.onConnected(() => trunks.connected(drachtio.register));
  const trunkAt = (address: string) => trunks.trunkAt(address);

  let stopping = false;
  // Only with PostgreSQL can other processes of the service be there to take the new calls.
  const drain = new Drain({ registry, readiness, handOffInvites: config.databaseUrl === undefined ? undefined : () => drachtio.handOffInvites(), log });
  const settings = callSettings(config);
  const listening = new SharedListening({
    srf: drachtio.srf,
    jigasi,
    prompts,
    settings: { displayName: config.listenerDisplayName, jigasiRoomHeader: config.jigasiRoomHeader, jigasiPasswordHeader: config.jigasiPasswordHeader },
    metrics,
    registry,
    logger,
  });
  const callDependencies = { srf: drachtio.srf, media, resolver, records: store, registry, jigasi, prompts, settings, metrics, logger, trunkAt, listening };
  dialOuts.attach(callDependencies);
  // Each INVITE's call is its own error boundary; whatever escapes it is logged, never fatal.
  const unexpected = (error: unknown) => {
    metrics.unexpectedErrors.inc({ boundary: 'call' });
    log.error({ err: error }, 'a call failed outside its own error handling');
  };
  drachtio.onInvite((req, res) => {
    if (stopping) {
      res.send(503);
      return;
    }
    if (drain.active) {
      drain.refuse(res);
      return;
    }
    try {
      // Jitsi Meet's "invite by phone": Jigasi calls a number through us, naming its room.
      if (jigasiAddresses.has(req.source_address) && req.get(config.jigasiRoomHeader) !== undefined) {
        dialOuts.acceptFromJigasi({ req, res });
        return;
      }
      const call = new Call(callDependencies, { kind: 'dial-in', req, res });
      call.run().catch(unexpected);
    } catch (error) {
      unexpected(error);
      if (!res.finalResponseSent) res.send(500);
    }
  });
  drachtio.onLost(() => registry.abandonAll());
  const stopHealthChecks =
    config.jigasiHealthCheckSeconds > 0 ? watchJigasiHealth(jigasi, drachtio.ping, logger, readiness, config.jigasiHealthCheckSeconds * 1000) : () => undefined;

  return {
    drain: async (cutShort) => drain.run(config.drainSeconds, cutShort),
    async stop() {
      stopping = true;
      dialOuts.attach(undefined);
      jigasiAddresses.stop();
      stopHealthChecks();
      // Shared legs are in the registry: they end with the calls.
      await registry.endAll(CALLS_END_WITHIN_MS);
      await trunks.stop();
      for (const freeswitch of freeswitches) freeswitch.close();
      drachtio.close();
    },
  };
}
