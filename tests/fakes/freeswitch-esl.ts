import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';

/**
 * A fake FreeSWITCH at the far end of one outbound event socket, speaking the event-socket
 * protocol on a real loopback TCP connection, so that drachtio-modesl's Connection and
 * drachtio-fsmrf's Endpoint run unchanged on top of it (tests of gateway/connections.ts).
 * What it does, as FreeSWITCH 1.10 does:
 * - answers "connect" with the channel data (command/reply with Event-Name CHANNEL_DATA);
 * - answers every other command with "+OK" in order, and "api …" with an api/response whose
 *   body is `apiReplies[name]` (else "+OK"), or "-ERR No such channel!" once the channel is gone;
 * - on "sendmsg … execute-app-name: hangup" hangs the channel up: BYE to drachtio (`onBye`),
 *   then closes the socket;
 * - `kill()` is SIGKILL: the socket just goes, nothing else is sent.
 */
export class FakeFreeswitchChannel {
  readonly uuid = '5f0d7a2e-3c55-4d8b-9b1e-0000000000aa';
  /** The first line of every command received, in order. */
  readonly commands: string[] = [];
  /** Replies to API commands by name, e.g. { uuid_audio: '-ERR no reply' }. */
  readonly apiReplies: Record<string, string> = {};
  /** FreeSWITCH's BYE for its leg, as drachtio would deliver it to the leg's dialog. */
  onBye: () => void = () => undefined;
  /** FreeSWITCH takes the hangup command but has not hung up yet (a busy or dying FreeSWITCH). */
  hangupPending = false;
  private received = '';
  private hungUp = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined);
  }

  /** A connected pair: the fake's end, and the socket the app's drachtio-modesl Connection wraps. */
  static async open(): Promise<{ channel: FakeFreeswitchChannel; appSocket: Socket; close: () => void }> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const freeswitchSide = connect(port, '127.0.0.1');
    const [appSocket] = await accepted;
    await once(freeswitchSide, 'connect');
    const channel = new FakeFreeswitchChannel(freeswitchSide);
    return {
      channel,
      appSocket,
      close: () => {
        appSocket.destroy();
        freeswitchSide.destroy();
        server.close();
      },
    };
  }

  /** FreeSWITCH is killed: the connection drops without a BYE or a reply. */
  kill(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.received += chunk;
    let end: number;
    while ((end = this.received.indexOf('\n\n')) !== -1) {
      const command = this.received.slice(0, end);
      this.received = this.received.slice(end + 2);
      this.answer(command);
    }
  }

  private answer(command: string): void {
    const [first = ''] = command.split('\n');
    this.commands.push(first);
    if (first === 'connect') {
      this.send(
        [
          'Content-Type: command/reply',
          'Reply-Text: +OK',
          'Socket-Mode: async',
          'Control: full',
          'Event-Name: CHANNEL_DATA',
          `Unique-ID: ${this.uuid}`,
          `Channel-Unique-ID: ${this.uuid}`,
          `variable_rtp_local_sdp_str: ${encodeURIComponent('v=0\r\no=FreeSWITCH 1 1 IN IP4 127.0.0.1\r\n')}`,
          `variable_switch_r_sdp: ${encodeURIComponent('v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\n')}`,
        ].join('\n') + '\n\n',
      );
      return;
    }
    if (first.startsWith('api ')) {
      const name = first.slice(4).split(' ')[0]!;
      const body = this.hungUp ? '-ERR No such channel!\n' : (this.apiReplies[name] ?? '+OK Success\n');
      this.send(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`);
      return;
    }
    this.send('Content-Type: command/reply\nReply-Text: +OK\n\n');
    if (first.startsWith('sendmsg') && command.includes('execute-app-name: hangup') && !this.hangupPending) {
      this.hungUp = true;
      setImmediate(() => {
        this.onBye();
        this.socket.end();
      });
    }
  }

  private send(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }
}
