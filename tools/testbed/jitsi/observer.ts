import { client, xml, type XmppClient, type XmlElement } from '@xmpp/client';

/**
 * An XMPP client in a Jitsi room, for the end-to-end suite: it asks Jicofo for the conference as
 * lib-jitsi-meet does, joins the MUC anonymously and keeps every occupant's presence, so a case
 * can see a phone participant arrive under its name, its mute state, and its leaving.
 */

export interface Occupant {
  /** The MUC nickname (resource of the occupant's room JID). */
  resource: string;
  /** The display name Jitsi Meet shows (XEP-0172 nick). */
  name: string | undefined;
  /** Whether its audio is muted, as Jitsi Meet reads it (the audiomuted element or the SourceInfo). */
  audioMuted: boolean | undefined;
  /** Every presence it sent, as XML: what the room learns of it. */
  presences: string[];
}

const MUC = 'http://jabber.org/protocol/muc';

function audioMutedIn(presence: XmlElement): boolean | undefined {
  const legacy = presence.getChildText('audiomuted');
  if (legacy !== null && legacy !== undefined) return legacy.trim() === 'true';
  const sourceInfo = presence.getChildText('SourceInfo');
  if (!sourceInfo) return undefined;
  try {
    const sources = Object.entries(JSON.parse(sourceInfo) as Record<string, { muted?: boolean }>).filter(([name]) => /-a\d+$/.test(name));
    return sources.length === 0 ? undefined : sources.every(([, source]) => source.muted === true);
  } catch {
    return undefined;
  }
}

export class RoomObserver {
  private readonly present = new Map<string, Occupant>();

  private constructor(
    private readonly xmpp: XmppClient,
    readonly roomJid: string,
    readonly nick: string,
  ) {}

  /** Joins `room` (its local part) of `muc` through the XMPP server at `service`. */
  static async join(options: { service: string; domain: string; muc: string; room: string; nick?: string }): Promise<RoomObserver> {
    const xmpp = client({ service: options.service, domain: options.domain });
    const roomJid = `${options.room}@${options.muc}`;
    const observer = new RoomObserver(xmpp, roomJid, options.nick ?? 'e2e-observer');
    xmpp.on('error', () => undefined);
    xmpp.on('stanza', (stanza) => observer.onStanza(stanza));
    try {
      await xmpp.start();
      await xmpp.iqCaller.request(xml('iq', { type: 'set', to: `focus.${options.domain}` }, xml('conference', { xmlns: 'http://jitsi.org/protocol/focus', room: roomJid, 'machine-uid': 'e2e-observer' })), 15_000);
      await xmpp.send(xml('presence', { to: `${roomJid}/${observer.nick}` }, xml('x', { xmlns: MUC }), xml('nick', { xmlns: 'http://jabber.org/protocol/nick' }, observer.nick)));
      await observer.waitFor((occupants) => occupants.some((occupant) => occupant.resource === observer.nick), 15_000, 'the observer in the room');
      return observer;
    } catch (error) {
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => undefined);
      throw new Error(`the XMPP observer could not join ${roomJid} at ${options.service}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Who is in the room now, the observer included. */
  occupants(): Occupant[] {
    return [...this.present.values()];
  }

  /** Resolves with the occupants once `condition` holds; rejects after `timeoutMs` naming `what`. */
  async waitFor(condition: (occupants: Occupant[]) => boolean, timeoutMs: number, what: string): Promise<Occupant[]> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this.occupants())) {
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}; in the room: ${JSON.stringify(this.occupants().map(({ resource, name, audioMuted }) => ({ resource, name, audioMuted })))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.occupants();
  }

  async leave(): Promise<void> {
    this.xmpp.reconnect.stop();
    await this.xmpp.send(xml('presence', { to: `${this.roomJid}/${this.nick}`, type: 'unavailable' })).catch(() => undefined);
    await this.xmpp.stop().catch(() => undefined);
  }

  private onStanza(stanza: XmlElement): void {
    const from = stanza.attrs.from;
    if (!stanza.is('presence') || !from?.startsWith(`${this.roomJid}/`)) return;
    const resource = from.slice(this.roomJid.length + 1);
    const known = this.present.get(resource);
    if (stanza.attrs.type === 'unavailable') {
      this.present.delete(resource);
      return;
    }
    const occupant = known ?? { resource, name: undefined, audioMuted: undefined, presences: [] };
    occupant.presences.push(stanza.toString());
    occupant.name = stanza.getChildText('nick', 'http://jabber.org/protocol/nick') ?? occupant.name;
    occupant.audioMuted = audioMutedIn(stanza) ?? occupant.audioMuted;
    this.present.set(resource, occupant);
  }
}
