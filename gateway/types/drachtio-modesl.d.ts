/** drachtio-modesl ships no declarations; this covers the event class connections.ts builds (lib/esl/Event.js). */
declare module 'drachtio-modesl' {
  class Event {
    /** An event made of these headers. */
    constructor(headers: Record<string, string>);
    getHeader(name: string): string | undefined;
  }
}
