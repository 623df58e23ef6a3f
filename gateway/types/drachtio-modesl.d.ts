/**
 * drachtio-modesl ships no declarations; this covers what connections.ts and esl-parser.ts use
 * (lib/esl/Event.js, lib/esl/Parser.js).
 */
declare module 'drachtio-modesl' {
  class Event {
    /** An event made of these headers. */
    constructor(headers: Record<string, unknown>, body?: string);
    getHeader(name: string): string | undefined;
    getBody(): string;
    getBody(): string;
    addHeader(name: string, value: string): string;
  }

  /** Turns what an event socket sends into Events; its internals are typed where they are patched. */
  class Parser {
    constructor(socket: import('node:events').EventEmitter);
  }

  /** An outbound event socket around a socket FreeSWITCH opened; "esl::ready" once the channel data is in. */
  class Connection {
    constructor(socket: import('node:net').Socket);
    once(event: 'esl::ready', listener: () => void): void;
  }
}
