import type { EventEmitter } from 'node:events';
import Srf from 'drachtio-srf';
import Mrf from 'drachtio-fsmrf';
import { Event as EslEvent } from 'drachtio-modesl';
import type { Logger } from 'pino';
import type { Config } from '../core/config';
import type { Readiness } from '../core/readiness';
import { tuneEslParser } from './esl-parser';
import { FreeswitchRefused, sipStatusOf, type MediaEndpoint, type MediaServer, type SipRequest, type SipResponse, type SipServer } from './sip';
import { NOT_SENT, type RegisterRequest, type SendRegister } from './trunk-registration';
import type { FreeswitchReadiness, MediaServerSource } from './media-servers';

/**
 * The two servers the gateway drives: drachtio-server (SIP) and FreeSWITCH (media). Both are
 * reconnected in the background with capped backoff, and /readyz learns about each change.
 * The HTTP API never waits for them.
 */

/** Once a server is back, /readyz must turn 200 within 5 s (SPEC §1). */
const RECONNECT_MAX_DELAY_MS = 2_000;
const RECONNECT_FIRST_DELAY_MS = 250;

/**
 * drachtio-fsmrf subscribes every endpoint to these although the call never listens for them
 * (DTMF only once the caller is in the conference: receiveKeys). Each event carries all channel
 * variables (4–12 KB of text); dropping them halves what the gateway parses per call and what
 * FreeSWITCH filters for every open event socket.
 */
// FreeSWITCH reads every name after CUSTOM as a custom subclass, so CUSTOM goes last.
const UNSUBSCRIBED_ENDPOINT_EVENTS = 'CHANNEL_EXECUTE PLAYBACK_START PLAYBACK_STOP DETECTED_TONE DTMF CUSTOM conference::maintenance';

/** How long a REGISTER or OPTIONS may wait for its final answer before it counts as 408. */
const ANSWER_WITHIN_MS = 10_000;

export interface DrachtioConnection {
  srf: SipServer;
  /** REGISTER through drachtio-server; drachtio-srf answers the registrar's digest challenge. */
  register: SendRegister;
  /** OPTIONS to a URI; the final status, or null while drachtio-server is not connected. */
  ping: (uri: string) => Promise<number | null>;
  onInvite(handler: (req: SipRequest, res: SipResponse) => void): void;
  /**
   * Asks drachtio-server to hand new INVITEs to its other connected applications only (the
   * "remove_route" of its protocol, client.cpp); requests inside this process's dialogs still
   * come here. With no other application connected, drachtio-server answers new INVITEs 503.
   */
  handOffInvites(): void;
  onLost(handler: () => void): void;
  /** Each time the connection is up, the first and every reconnection. */
  onConnected(handler: () => void): void;
  /** The raw Srf, for drachtio-fsmrf (it sends its INVITEs to FreeSWITCH through it). */
  raw: Srf;
  close(): void;
}

/** drachtio-fsmrf over this drachtio-server connection, for every FreeSWITCH; its event-socket parser tuned once. */
export function mediaResourceFramework(drachtio: DrachtioConnection): Mrf {
  tuneEslParser();
  return new Mrf(drachtio.raw);
}

/** A network error as /readyz and the log say it, with what to check when nothing listens there. */
function unreachable(error: Error, server: string, settings: string): string {
  const code = (error as { code?: unknown }).code;
  const nobodyThere = code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'ENOTFOUND';
  return nobodyThere ? `${error.message}: is ${server} running, and ${settings} right?` : error.message;
}

export function connectDrachtio(config: Config, readiness: Readiness, logger: Logger): DrachtioConnection {
  const log = logger.child({ component: 'drachtio' });
  const srf = new Srf();
  const lostHandlers: Array<() => void> = [];
  const connectedHandlers: Array<() => void> = [];
  let connected = false;
  srf.on('connect', (error: Error | null, hostport: string) => {
    if (error) {
      readiness.markDown('drachtio', error.message);
      log.error({ err: error }, 'drachtio-server refused the connection');
      return;
    }
    connected = true;
    reported = false;
    lastError = undefined;
    readiness.markUp('drachtio');
    log.info({ sip: hostport }, 'connected to drachtio-server');
    for (const handler of connectedHandlers) handler();
  });
  // Without an error listener a refused connection would end the process.
  let reported = false;
  // The reason /readyz gives: the socket error (ECONNREFUSED 127.0.0.1:9022), not the close after it.
  let lastError: string | undefined;
  srf.on('error', (error: Error) => {
    lastError = unreachable(error, 'drachtio-server', 'DRACHTIO_HOST and DRACHTIO_PORT');
    readiness.markDown('drachtio', lastError);
    // Once per outage: a reconnect every 2 s must not flood the log.
    log[reported ? 'debug' : 'warn']({ err: lastError }, 'drachtio-server connection error; retrying');
    reported = true;
  });
  // "close" is emitted at run time but missing from drachtio-srf's declarations.
  (srf as unknown as EventEmitter).on('close', () => {
    readiness.markDown('drachtio', connected || lastError === undefined ? 'connection closed' : lastError);
    if (connected) log.error('lost drachtio-server; reconnecting');
    connected = false;
    for (const handler of lostHandlers) handler();
  });
  // Declared to return a promise, but returns nothing at run time: the "connect" event reports.
  (srf as unknown as { connect(options: object): void }).connect({
    host: config.drachtio.host,
    port: config.drachtio.port,
    secret: config.drachtio.secret,
    reconnect: { retryMaxDelay: RECONNECT_MAX_DELAY_MS },
  });
  (srf as unknown as { options(handler: (req: unknown, res: SipResponse) => void): void }).options((_req, res) => res.send(200));

  const request = srf as unknown as RequestSender;
  return {
    srf: srf as unknown as SipServer,
    register: async ({ uri, proxy, headers, auth }) => {
      if (!connected) return { status: NOT_SENT };
      const res = await finalResponse(request, uri, { method: 'REGISTER', proxy, headers, auth: digestAnswer(auth) }, ANSWER_WITHIN_MS);
      return { status: res.status, expires: res.status === 408 ? undefined : grantedExpiry(res.get('Contact'), res.get('Expires')) };
    },
    raw: srf,
    ping: async (uri) => {
      if (!connected) return null;
      return (await finalResponse(request, uri, { method: 'OPTIONS' }, ANSWER_WITHIN_MS)).status;
    },
    onInvite: (handler) => srf.invite(handler as unknown as (req: Srf.SrfRequest, res: Srf.SrfResponse) => void),
    // Missing from drachtio-srf's declarations; lib/srf.js unregisterForMessages.
    handOffInvites: () => (srf as unknown as { unregisterForMessages(verb: string): void }).unregisterForMessages('invite'),
    onLost: (handler) => lostHandlers.push(handler),
    onConnected: (handler) => connectedHandlers.push(handler),
    close: () => {
      if (connected) srf.disconnect();
      else stopReconnecting(srf);
    },
  };
}

interface FinalResponse {
  status: number;
  get(name: string): string | undefined;
}

/** drachtio-srf's Srf#request in its callback form. */
interface RequestSender {
  request(uri: string, options: object, callback: (error: Error | null, sent: EventEmitter) => void): void;
}

/**
 * Sends a request outside any dialog and resolves with its final response; 408 when none came
 * within `withinMs`. The listener is attached in drachtio-srf's callback, not after an awaited
 * promise: drachtio-server may deliver the echo of the request and a quick answer in one read,
 * and drachtio-srf emits that "response" before an await would have resumed.
 */
async function finalResponse(sender: RequestSender, uri: string, options: object, withinMs: number): Promise<FinalResponse> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    sender.request(uri, options, (error, sent) => {
      if (error) {
        reject(error);
        return;
      }
      timer = setTimeout(() => resolve({ status: 408, get: () => undefined }), withinMs);
      // Only a bound on the wait: it must not keep a stopping process alive.
      timer.unref();
      sent.on('response', (res: FinalResponse) => {
        if (res.status < 200) return;
        clearTimeout(timer);
        resolve(res);
      });
    });
  });
}

/**
 * What drachtio-srf's digest client (lib/digest-client.js) calls to answer a challenge: the
 * credentials, or an error when the challenge is for another realm than TRUNK_REALM.
 */
function digestAnswer(auth: RegisterRequest['auth']) {
  return (_req: unknown, res: { get(name: string): string | undefined }, callback: (error: Error | null, username?: string, password?: string) => void) => {
    const challenge = res.get('WWW-Authenticate') ?? res.get('Proxy-Authenticate') ?? '';
    const realm = /realm="([^"]*)"/i.exec(challenge)?.[1];
    if (auth.realm !== undefined && realm !== auth.realm) callback(new Error(`challenge for realm "${realm}", not "${auth.realm}"`));
    else callback(null, auth.username, auth.password);
  };
}

/** The lifetime a registrar granted: the expires parameter of a Contact, else the Expires header. */
export function grantedExpiry(contact: string | undefined, expires: string | undefined): number | undefined {
  const fromContact = /;\s*expires=(\d+)/i.exec(contact ?? '')?.[1];
  const value = fromContact ?? expires?.trim();
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** drachtio-srf 5's WireProtocol, as far as stopping its reconnect loop goes. */
interface WireProtocolInternals {
  closing: boolean;
  reconnectVars?: { retryTimer?: NodeJS.Timeout | null };
  socket?: { destroy(): void };
}

/**
 * Srf#disconnect works only while connected: it throws when there is no socket, before it marks
 * the connection as closing, and the reconnect loop then goes on for ever (and keeps the
 * process alive). While not connected the loop is stopped here.
 */
function stopReconnecting(srf: Srf): void {
  const wire = (srf as unknown as { app?: { client?: { wp?: WireProtocolInternals } } }).app?.client?.wp;
  if (!wire) return;
  wire.closing = true;
  clearTimeout(wire.reconnectVars?.retryTimer ?? undefined);
  wire.socket?.destroy();
}

/**
 * The media server as the call sees it (gateway/sip.ts): endpoints without the events and reads
 * the call never uses, API commands that fail on FreeSWITCH's "-ERR", and a teardown that also
 * ends when FreeSWITCH is gone.
 */
export function leanEndpoints(mediaServer: Pick<Mrf.MediaServer, 'createEndpoint'>): MediaServer {
  return {
    createEndpoint: async (options) => {
      const endpoint = (await mediaServer.createEndpoint({ remoteSdp: options?.remoteSdp })) as Mrf.Endpoint;
      // drachtio-modesl keeps the channel data FreeSWITCH sent on connecting, every channel
      // variable (~20 KB of heap), for the whole call; once fsmrf has read it only the UUID is
      // looked up again (Connection#execute, MediaServer#_onConnectionClosed).
      const channelData = endpoint.conn.channelData;
      endpoint.conn.channelData = new EslEvent({
        'Unique-ID': channelData.getHeader('Unique-ID') ?? '',
        'Channel-Unique-ID': channelData.getHeader('Channel-Unique-ID') ?? '',
      });
      // Not awaited: FreeSWITCH handles an event socket's commands in order, and a channel that
      // hangs up right now would never send the reply.
      const unsubscribed = options?.bridgeOnly ? `CHANNEL_EXECUTE_COMPLETE ${UNSUBSCRIBED_ENDPOINT_EVENTS}` : UNSUBSCRIBED_ENDPOINT_EVENTS;
      endpoint.conn.sendRecv(`nixevent ${unsubscribed}`, () => undefined);
      // FreeSWITCH reports the end of every application with every channel variable (~12 KB).
      // Nobody waits for the end of a stopped playback, of the parked socket application a
      // bridge ends, or of the hangup destroy() runs, and a bridge-only endpoint runs nothing
      // else: the reports are off from a stop (on a bridge-only endpoint from the start) until
      // the next application, and the command that turns them on goes out before it.
      let applicationEndsReported = !options?.bridgeOnly;
      const reportApplicationEnds = (on: boolean) => {
        if (on === applicationEndsReported) return;
        applicationEndsReported = on;
        endpoint.conn.sendRecv(`${on ? 'event json' : 'nixevent'} CHANNEL_EXECUTE_COMPLETE`, () => undefined);
      };
      const execute = endpoint.execute.bind(endpoint);
      // fsmrf's own applications pass a callback: every argument goes through.
      endpoint.execute = (...args) => {
        reportApplicationEnds(true);
        return execute(...args);
      };
      // fsmrf's api() resolves with FreeSWITCH's reply whatever it says.
      const command = async (name: string, args: string) => {
        const reply = ((await endpoint.api(name, args)) as EslEvent).getBody();
        if (reply.startsWith('-ERR')) throw new FreeswitchRefused(name, reply.trim());
        return reply;
      };
      const stopPlaying = async () => {
        reportApplicationEnds(false);
        await command('uuid_break', `${endpoint.uuid} all`);
      };
      // fsmrf's modify() follows the re-INVITE with uuid_set_media_stats and a uuid_dump of every
      // channel variable (~10 KB to parse) to refresh endpoint.local and endpoint.remote, which
      // the call reads only before (the SDP it offers Jigasi): after this modify they are stale,
      // and reading them is an error rather than a silently wrong answer.
      endpoint.modify = async (sdp) => {
        let answer: unknown;
        try {
          answer = await endpoint.dialog.modify(sdp);
        } catch (error) {
          if (sipStatusOf(error) !== undefined) admitNextReInvite(endpoint.dialog);
          throw error;
        }
        forbidReading(endpoint, 'local');
        forbidReading(endpoint, 'remote');
        // An offer without a codec FreeSWITCH has is answered 200 OK with the audio turned off, not 488.
        if (/^m=audio 0 /m.test(String(answer))) throw new FreeswitchRefused('the re-INVITE', 'm=audio 0 (none of the offered codecs)');
        return String(answer);
      };
      // The HANGUP call state repeats every variable too and nobody reads it. fsmrf's destroy()
      // resolves on FreeSWITCH's BYE, which never comes when FreeSWITCH was killed: the end of the
      // endpoint's event-socket connection ends it too (fsmrf emits nothing then, since its own
      // destroy() already marked the endpoint disconnected).
      const destroy = endpoint.destroy.bind(endpoint);
      endpoint.destroy = async () => {
        endpoint.execute = execute;
        if (!endpoint.connected) return destroy();
        const connectionEnded = new Promise<void>((resolve) => endpoint.conn.once('esl::end', () => resolve()));
        endpoint.conn.sendRecv('nixevent CHANNEL_EXECUTE_COMPLETE CHANNEL_CALLSTATE', () => undefined);
        await Promise.race([destroy(), connectionEnded]);
      };
      const receiveKeys = () => endpoint.conn.sendRecv('event json DTMF', () => undefined);
      // fsmrf's join waits for the conference's add-member report, a conference::maintenance
      // event that is off on these endpoints; it goes out before the conference application.
      // Off again once joined: the conference reports every member's every change on it.
      const join = endpoint.join.bind(endpoint);
      endpoint.join = async (conference: string, joinOptions: object) => {
        endpoint.conn.sendRecv('event json CUSTOM conference::maintenance', () => undefined);
        const joined = await join(conference, joinOptions);
        endpoint.conn.sendRecv('nixevent CUSTOM conference::maintenance', () => undefined);
        return joined;
      };
      // The event socket answers an API command only after the commands before it (a sendmsg
      // reply means the application is queued on the channel); uuid_exists is the cheapest.
      const commandsTaken = async () => {
        await command('uuid_exists', endpoint.uuid);
      };
      return Object.assign(endpoint, { command, receiveKeys, commandsTaken, stopPlaying }) as unknown as MediaEndpoint;
    },
  };
}

/**
 * drachtio-srf 5.0.29 sends a dialog's re-INVITEs one at a time, but a re-INVITE answered with a
 * failure (FreeSWITCH's 488) never leaves its queue (lib/dialog.js:362 rejects without the
 * onReInviteComplete of :339): every later modify() on that endpoint would wait for ever. This
 * does what the library forgot (the package is pinned to the version this was read from).
 */
function admitNextReInvite(dialog: Mrf.Endpoint['dialog']): void {
  const queue = dialog._reinvitesInProgress;
  if (!queue || queue.count === 0) return;
  queue.count--;
  const next = queue.admitOne.shift();
  if (next) setImmediate(next);
}

function forbidReading(endpoint: object, property: 'local' | 'remote'): void {
  Object.defineProperty(endpoint, property, {
    configurable: true,
    get() {
      throw new Error(`endpoint.${property} is not refreshed after modify() (gateway/connections.ts): read it before`);
    },
  });
}

export interface FreeswitchConnection extends MediaServerSource {
  close(): void;
}

/** Keeps one event-socket connection to one FreeSWITCH of FREESWITCH_SERVERS, reconnecting with capped backoff. */
export function connectFreeswitch(
  server: { host: string; port: number },
  config: Config,
  mrf: Mrf,
  states: Pick<FreeswitchReadiness, 'up' | 'lost'>,
  logger: Logger,
): FreeswitchConnection {
  const name = `${server.host}:${server.port}`;
  const log = logger.child({ component: 'freeswitch', freeswitch: name });
  let current: { raw: Mrf.MediaServer; lean: MediaServer } | undefined;
  let closed = false;
  let delay = RECONNECT_FIRST_DELAY_MS;
  let timer: NodeJS.Timeout | undefined;
  let reported = false;

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(attempt, delay);
    delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS);
  };

  async function connectOnce(): Promise<void> {
    const mediaServer = await mrf.connect({
      address: server.host,
      port: server.port,
      secret: config.freeswitch.secret,
      listenAddress: config.freeswitch.listenAddress,
      advertisedAddress: config.freeswitch.advertisedAddress,
      profile: 'drachtio_mrf',
    });
    if (closed) {
      mediaServer.disconnect();
      return;
    }
    current = { raw: mediaServer, lean: leanEndpoints(mediaServer) };
    delay = RECONNECT_FIRST_DELAY_MS;
    reported = false;
    states.up(name);
    log.info('connected to FreeSWITCH');
    mediaServer.once('end', () => {
      current = undefined;
      states.lost(name, 'event socket closed');
      log.error('lost FreeSWITCH; reconnecting');
      mediaServer.disconnect();
      schedule();
    });
    mediaServer.on('error', (error: Error) => log.warn({ err: error.message }, 'FreeSWITCH error'));
  }

  function attempt(): void {
    connectOnce().catch((error: unknown) => {
      states.lost(name, unreachable(error as Error, 'FreeSWITCH', config.freeswitch.servers.length > 1 ? 'FREESWITCH_SERVERS' : 'FREESWITCH_HOST and FREESWITCH_PORT'));
      log[reported ? 'debug' : 'warn']({ err: (error as Error).message }, 'cannot reach FreeSWITCH; retrying');
      reported = true;
      schedule();
    });
  }

  attempt();
  return {
    name,
    current: () => current?.lean,
    close: () => {
      closed = true;
      clearTimeout(timer);
      current?.raw.disconnect();
      current = undefined;
    },
  };
}
