/** @xmpp/client 0.13 ships no declarations; this covers what the real-Jitsi observer uses. */
declare module '@xmpp/client' {
  interface XmlElement {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<XmlElement | string>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): XmlElement | undefined;
    getChildren(name: string, xmlns?: string): XmlElement[];
    getChildText(name: string, xmlns?: string): string | null;
    text(): string;
    toString(): string;
  }

  interface XmppClient {
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(element: XmlElement): Promise<void>;
    on(event: 'stanza', listener: (stanza: XmlElement) => void): void;
    on(event: 'error', listener: (error: Error) => void): void;
    on(event: 'online', listener: (jid: { toString(): string }) => void): void;
    iqCaller: { request(element: XmlElement, timeoutMs?: number): Promise<XmlElement> };
    reconnect: { stop(): void };
  }

  function client(options: { service: string; domain: string; resource?: string }): XmppClient;
  function xml(name: string, attrs?: Record<string, string>, ...children: Array<XmlElement | string>): XmlElement;
}
