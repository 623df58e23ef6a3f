/** drachtio-fsmrf ships no declarations; this covers what connections.ts calls (lib/mrf.js, lib/mediaserver.js). */
declare module 'drachtio-fsmrf' {
  import { EventEmitter } from 'node:events';

  namespace Mrf {
    interface ConnectOptions {
      address: string;
      port: number;
      secret: string;
      listenAddress: string;
      listenPort?: number;
      advertisedAddress?: string;
      profile?: string;
    }

    /** What connections.ts touches of an endpoint; the call uses it through gateway/sip.ts. */
    interface Endpoint {
      /** drachtio-modesl's outbound event-socket connection for this channel. */
      conn: {
        sendRecv(command: string, callback: (reply: unknown) => void): void;
        /** "esl::end": the event socket closed (the channel is gone, or FreeSWITCH is). */
        once(event: 'esl::end', listener: () => void): void;
        /** The CHANNEL_DATA event FreeSWITCH sent on connecting; getInfo() returns it. */
        channelData: { getHeader(name: string): string | undefined };
      };
      /** The SIP dialog between drachtio and FreeSWITCH for this channel (a drachtio-srf Dialog). */
      dialog: {
        modify(sdp: string): Promise<unknown>;
        /** drachtio-srf 5.0.29's queue of re-INVITEs on the dialog, one at a time (lib/dialog.js:45, 283–298). */
        _reinvitesInProgress?: { count: number; admitOne: Array<() => void> };
      };
      readonly connected: boolean;
      readonly uuid: string;
      /** Resolves with drachtio-modesl's Event of FreeSWITCH's reply, "-ERR …" included. */
      api(command: string, args?: string | string[]): Promise<unknown>;
      /** Runs a FreeSWITCH application; play() and playCollect() run theirs through it, with a callback. */
      execute(app: string, arg?: string, callback?: (error: Error | null, event: unknown) => void): unknown;
      modify(sdp: string): Promise<unknown>;
      /** Runs the conference application; resolves on its add-member report (a CUSTOM conference::maintenance event), never rejects. */
      join(conference: string, options: object): Promise<{ memberId: number; confUuid: string }>;
      destroy(): Promise<void>;
      readonly local: { sdp: string };
      readonly remote: { sdp: string };
    }

    class MediaServer extends EventEmitter {
      createEndpoint(options?: { remoteSdp?: string }): Promise<unknown>;
      api(command: string): Promise<string>;
      disconnect(): void;
    }
  }

  class Mrf extends EventEmitter {
    constructor(srf: unknown, options?: { customEvents?: string[] });
    connect(options: Mrf.ConnectOptions): Promise<Mrf.MediaServer>;
  }

  export = Mrf;
}

/** drachtio-fsmrf's Endpoint class, constructed directly only by tests of the adapter in connections.ts. */
declare module 'drachtio-fsmrf/lib/endpoint' {
  import type Mrf from 'drachtio-fsmrf';

  const Endpoint: new (conn: unknown, dialog: unknown, mediaServer: unknown, options?: object) => Mrf.Endpoint;
  type Endpoint = Mrf.Endpoint;
  export = Endpoint;
}
