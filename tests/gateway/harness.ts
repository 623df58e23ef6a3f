import { join } from 'node:path';
import { CALL_TIMING, Call, type CallDependencies, type CallSettings, type CallTiming } from '../../gateway/call';
import { CallRegistry } from '../../gateway/call-registry';
import { MediaServerPool } from '../../gateway/media-servers';
import { LISTENING_TIMING, SharedListening } from '../../gateway/shared-listening';
import { callSettings } from '../../gateway/gateway';
import { JigasiPool } from '../../gateway/jigasi';
import { PromptSet } from '../../gateway/prompts';
import { PinDirectory } from '../../provisioning/directory';
import { PinResolver } from '../../provisioning/pin-resolver';
import { SqliteStore } from '../../provisioning/store/sqlite';
import type { CallRecord, RoomChanges } from '../../provisioning/store/store';
import { loadConfig, type TrunkConfig } from '../../core/config';
import { createLogger } from '../../core/logger';
import { createMetrics } from '../../core/metrics';
import { FakeRequest, FakeResponse, FakeSrf, type FakeDialog, type UacScript } from '../fakes/drachtio';
import { FakeMediaServer, type FakeEndpoint } from '../fakes/freeswitch';
import { LogCapture, MUC, tempDir, testEnv, until } from '../support/service';

export { until };

export const JIGASI_1 = 'sip:jigasi1.example.org';
export const JIGASI_2 = 'sip:jigasi2.example.org';
export const CALLER = '+49 4136 555134';
/** The SDP of the caller's INVITE, as a trunk sends it. */
export const CALLER_OFFER = sdp({ port: 30000, version: 1 });

/** An SDP as phones, PBXs and SBCs send them (codec names as in their rtpmap lines). */
export function sdp(shape: { port: number; version: number; direction?: string; codecs?: Array<[number, string]>; t38?: true; address?: string }): string {
  const codecs = shape.codecs ?? [
    [8, 'PCMA/8000'],
    [0, 'PCMU/8000'],
  ];
  const lines = [
    'v=0',
    `o=trunk 4711 ${shape.version} IN IP4 ${shape.address ?? '192.0.2.10'}`,
    's=-',
    `c=IN IP4 ${shape.address ?? '192.0.2.10'}`,
    't=0 0',
    `m=audio ${shape.t38 ? 0 : shape.port} RTP/AVP ${[...codecs.map(([payload]) => payload), 101].join(' ')}`,
    ...codecs.map(([payload, name]) => `a=rtpmap:${payload} ${name}`),
    'a=rtpmap:101 telephone-event/8000',
    `a=${shape.direction ?? 'sendrecv'}`,
    ...(shape.t38 ? [`m=image ${shape.port} udptl t38`, 'a=T38FaxVersion:0'] : []),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

export interface Harness {
  srf: FakeSrf;
  media: FakeMediaServer;
  mediaUp: boolean;
  registry: CallRegistry;
  listening: SharedListening;
  directory: PinDirectory;
  resolver: PinResolver;
  store: SqliteStore;
  logs: LogCapture;
  metrics: ReturnType<typeof createMetrics>;
  settings: CallSettings;
  timing: CallTiming;
  /** The calls' and shared legs' clock (the in-call keys' star window, the SIP INFO digit rate); a test may stop or move it. */
  now: () => number;
  /** Addresses of registered trunks' registrars and proxies, as gateway/trunks.ts learns them. */
  trunkAddresses: Map<string, TrunkConfig>;
  /** Places an INVITE and starts the call; `done` settles when the call has fully ended. */
  invite(options?: { from?: string; userAgent?: string; source?: string; headers?: Record<string, string | undefined>; uri?: string; body?: string }): { call: Call; req: FakeRequest; res: FakeResponse; done: Promise<void> };
  record(id: string): Promise<CallRecord | undefined>;
  /** What the gateway hands each Call (gateway.ts), wired to these fakes. */
  callDependencies(): CallDependencies;
  close(): Promise<void>;
}

/**
 * Timers the gateway's own code (gateway/, provisioning/) started and that have neither fired
 * nor been cleared, each named by where it was started. Once every call has ended there are none:
 * a timer left behind would act on a call that is gone.
 */
export const gatewayTimersAlive = (() => {
  const alive = new Map<unknown, string>();
  const ownCode = [join(__dirname, '..', '..', 'gateway', ''), join(__dirname, '..', '..', 'provisioning', '')];
  const startedBy = () => (new Error().stack ?? '').split('\n').find((line) => ownCode.some((folder) => line.includes(folder)))?.trim();
  const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout, setInterval: realSetInterval, clearInterval: realClearInterval } = global;
  const forget = (timer: unknown) => {
    const key = typeof timer === 'object' && timer !== null ? timer : undefined;
    if (key) alive.delete(key);
  };
  global.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const where = startedBy();
    const timer = realSetTimeout((...a: unknown[]) => {
      alive.delete(timer);
      callback(...a);
    }, ms, ...args);
    if (where) alive.set(timer, where);
    return timer;
  }) as typeof setTimeout;
  global.setInterval = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const where = startedBy();
    const timer = realSetInterval(callback, ms, ...args);
    if (where) alive.set(timer, where);
    return timer;
  }) as typeof setInterval;
  global.clearTimeout = ((timer?: NodeJS.Timeout | string | number) => {
    forget(timer);
    realClearTimeout(timer);
  });
  global.clearInterval = ((timer?: NodeJS.Timeout | string | number) => {
    forget(timer);
    realClearInterval(timer);
  });
  return () => [...alive.values()];
})();

const dirs: Array<() => void> = [];
afterAll(() => dirs.forEach((cleanup) => cleanup()));

/** A Call wired to fakes of drachtio and FreeSWITCH and to a real PIN directory on SQLite. */
export async function harness(env: Record<string, string> = {}, jigasi: Record<string, UacScript[]> = {}): Promise<Harness> {
  const dir = tempDir();
  dirs.push(dir.cleanup);
  const config = loadConfig(testEnv({ JIGASI_URIS: `${JIGASI_1},${JIGASI_2}`, ...env }));
  const store = new SqliteStore(join(dir.path, 'calls.sqlite'));
  const directory = new PinDirectory({ store, pinLength: 8, mapperAutoCreate: true, mapperMaxRooms: 10_000, mapperPinTtlDays: 90 });
  const resolver = await PinResolver.create({ store, mucDomain: MUC, pinFailuresPerHour: config.pinFailuresPerHour, pinFailuresGlobalPerHour: config.pinFailuresGlobalPerHour });
  const srf = new FakeSrf();
  for (const [uri, answers] of Object.entries(jigasi)) srf.script(uri, ...answers);
  const media = new FakeMediaServer();
  const registry = new CallRegistry();
  // One FreeSWITCH, up while h.mediaUp: FREESWITCH_SERVERS's pool with a single entry.
  const mediaPool = new MediaServerPool([{ name: 'freeswitch:8021', current: () => (h.mediaUp ? media : undefined) }]);
  // One pool for all calls of a test, as the gateway has: calls count against each other.
  const jigasiPool = new JigasiPool(config.jigasiUris);
  const logs = new LogCapture();
  const metrics = createMetrics();
  const logger = createLogger('debug', logs);
  const settings = callSettings(config);
  // One for all calls of a test, as the gateway has: listeners of a room share its leg.
  const listening = new SharedListening({
    srf,
    jigasi: jigasiPool,
    prompts: new PromptSet('/prompts', config.language, () => true),
    settings: { displayName: config.listenerDisplayName, jigasiRoomHeader: config.jigasiRoomHeader, jigasiPasswordHeader: config.jigasiPasswordHeader },
    metrics,
    registry,
    logger,
    timing: { ...LISTENING_TIMING, graceMs: 300, joinWithinMs: 500, destroyWithinMs: 300 },
    now: () => h.now(),
  });
  const h: Harness = {
    srf,
    media,
    mediaUp: true,
    registry,
    listening,
    directory,
    resolver,
    store,
    logs,
    metrics,
    settings,
    trunkAddresses: new Map(),
    now: Date.now,
    // Teardown gives up on a silent far end after 5 s in production, a slowed PIN entry waits
    // 2–60 s; tests need not wait that long.
    timing: { ...CALL_TIMING, destroyWithinMs: 300, slowedPauseScale: 0.05 },
    invite(options = {}) {
      const req = new FakeRequest(
        'INVITE',
        {
          From: options.from ?? `"Caller" <sip:${CALLER.replace(/ /g, '')}@trunk.example.org>;tag=abc`,
          To: '<sip:+494136123456@gateway.example.org>',
          Contact: '<sip:trunk@192.0.2.10:5060>',
          'User-Agent': options.userAgent ?? 'Trunk SBC 1.0',
          'Content-Type': options.body === '' ? undefined : 'application/sdp',
          ...options.headers,
        },
        options.body ?? CALLER_OFFER,
        options.source ?? '192.0.2.10',
        options.uri,
      );
      const res = new FakeResponse();
      const call = new Call(
        h.callDependencies(),
        { kind: 'dial-in', req, res },
      );
      return { call, req, res, done: call.run() };
    },
    callDependencies() {
      return {
        srf,
        media: mediaPool,
        resolver,
        records: store,
        registry,
        jigasi: jigasiPool,
        prompts: new PromptSet('/prompts', config.language, () => true),
        settings,
        metrics,
        logger,
        trunkAt: (address: string) => h.trunkAddresses.get(address),
        timing: h.timing,
        now: () => h.now(),
        listening,
      };
    },
    async record(id) {
      return (await store.listCallRecords(1000)).find((record) => record.id === id);
    },
    async close() {
      await store.close();
    },
  };
  return h;
}

export interface InConference {
  h: Harness;
  caller: FakeEndpoint;
  jigasi: FakeDialog;
  callId: string;
  done: Promise<void>;
}

/** A caller bridged into room "rat"; `room` sets the room up first (password, startMuted), `timing` the call's timers. */
export async function inConference(role?: 'listener', room?: RoomChanges, timing?: Partial<CallTiming>): Promise<InConference> {
  const h = await harness({}, { [JIGASI_1]: [{ status: 200 }] });
  h.timing = { ...h.timing, ...timing };
  if (room) await h.directory.putRoom('rat', room, 'test');
  const pin = await h.directory.createPin('rat', { role }, 'test');
  const { call, done } = h.invite();
  await until(() => h.srf.uasDialogs.length > 0, 'the call to be answered');
  const caller = h.media.endpoints[0]!;
  caller.pressKeys(`${pin.pin}#`);
  await until(() => h.registry.list()[0]?.state === 'bridged', 'the bridge');
  return { h, caller, jigasi: h.srf.invitesSent[0]!.dialog!, callId: call.id, done };
}

/** The JSON INFO messages the gateway sent Jigasi. */
export const infosTo = (jigasi: FakeDialog) => jigasi.requests.filter((request) => request.method === 'INFO').map((request) => JSON.parse(request.body!) as { id: string } & Record<string, unknown>);

/**
 * Rejections nobody handled while a test ran. In the service every one would reach the process's
 * handler: a call's error must never get that far.
 */
export const unhandledRejections: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandledRejections.push(reason));
beforeEach(() => (unhandledRejections.length = 0));

/** Every dialog and endpoint of the test ended exactly once, no call is left in the registry, no rejection went unhandled. */
/** Log lines an operator is alerted by (error and fatal): a caller's hang-up, at any moment, is none of them. */
export function errorsLogged(h: Harness): string[] {
  return h.logs.lines.filter((line) => /"level":(50|60)/.test(line));
}

export function expectCleanTeardown(h: Harness): void {
  expect(unhandledRejections).toEqual([]);
  for (const endpoint of h.media.endpoints) expect({ endpoint: endpoint.uuid, endings: endpoint.endings }).toEqual({ endpoint: endpoint.uuid, endings: 1 });
  const dialogs = [...h.srf.uasDialogs, ...h.srf.invitesSent.flatMap((invite) => (invite.dialog ? [invite.dialog] : []))];
  for (const dialog of dialogs) {
    expect({ dialog: dialog.id, endings: dialog.endings, byesAfterEnd: dialog.byesAfterEnd, requestsAfterEnd: dialog.requestsAfterEnd }).toEqual({ dialog: dialog.id, endings: 1, byesAfterEnd: 0, requestsAfterEnd: 0 });
  }
  expect(h.registry.size).toBe(0);
}
