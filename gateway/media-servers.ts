import type { Readiness } from '../core/readiness';
import type { MediaServer } from './sip';

/** One FreeSWITCH as the pool sees it: its name (host:port) and its media server while connected. */
export interface MediaServerSource {
  name: string;
  current(): MediaServer | undefined;
}

/** The FreeSWITCH a call holds: both of its channels are made there. */
export interface MediaLease {
  server: MediaServer;
  /** Which FreeSWITCH (host:port): a shared listeners' conference lives on one. */
  name: string;
  /** False once that connection is gone (FreeSWITCH lost, or connected anew): the call's media are lost. */
  connected(): boolean;
  release(): void;
}

export interface MediaServers {
  /** Whether any FreeSWITCH is connected. */
  available(): boolean;
  /** The connected FreeSWITCH with the fewest calls of this process, ties in the order of FREESWITCH_SERVERS. */
  lease(): MediaLease | undefined;
}

/** FREESWITCH_SERVERS: each call on the least busy one that is connected; a lost one ends only its own calls. */
export class MediaServerPool implements MediaServers {
  private readonly calls = new Map<string, number>();

  constructor(private readonly sources: MediaServerSource[]) {}

  available(): boolean {
    return this.sources.some((source) => source.current() !== undefined);
  }

  lease(): MediaLease | undefined {
    let chosen: { source: MediaServerSource; server: MediaServer; calls: number } | undefined;
    for (const source of this.sources) {
      const server = source.current();
      const calls = this.calls.get(source.name) ?? 0;
      if (server && (!chosen || calls < chosen.calls)) chosen = { source, server, calls };
    }
    if (!chosen) return undefined;
    const { source, server } = chosen;
    this.calls.set(source.name, chosen.calls + 1);
    let released = false;
    return {
      server,
      name: source.name,
      connected: () => source.current() === server,
      release: () => {
        if (released) return;
        released = true;
        this.calls.set(source.name, (this.calls.get(source.name) ?? 1) - 1);
      },
    };
  }

  /** Calls of this process on each FreeSWITCH. */
  load(): Record<string, number> {
    return Object.fromEntries(this.sources.map((source) => [source.name, this.calls.get(source.name) ?? 0]));
  }
}

/**
 * What /readyz and the console say of several FreeSWITCH servers: "freeswitch" is up while one
 * is, and its reason names those that are down; each one's state in the details.
 */
export class FreeswitchReadiness {
  private readonly down = new Map<string, string>();

  constructor(
    private readonly readiness: Readiness,
    private readonly names: string[],
  ) {
    for (const name of names) this.down.set(name, 'not connected yet');
    this.publish();
  }

  up(name: string): void {
    this.down.delete(name);
    this.publish();
  }

  lost(name: string, reason: string): void {
    this.down.set(name, reason);
    this.publish();
  }

  private publish(): void {
    if (this.down.size < this.names.length) this.readiness.markUp('freeswitch');
    else this.readiness.markDown('freeswitch', [...this.down].map(([name, reason]) => (this.names.length === 1 ? reason : `${name}: ${reason}`)).join('; '));
    if (this.names.length > 1) this.readiness.describe('freeswitch', Object.fromEntries(this.names.map((name) => [name, this.down.has(name) ? 'down' : 'up'])));
  }
}
