import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';

/**
 * FreeSWITCH 1.10.12's answer to an outbound socket's "connect", recorded on the end-to-end test
 * bed (tcpdump on lo during a call): the channel's data, then Content-Type command/reply with an
 * URL-encoded Reply-Text at the end of the headers, in one segment.
 */
const CONNECT_REPLY = readFileSync(join(__dirname, 'recorded', 'freeswitch-1.10.12-connect-reply.txt'), 'utf8');
const RECORDED_UUID = /^Unique-ID: (.+)$/m.exec(CONNECT_REPLY)![1]!;
/** What the same FreeSWITCH sent when the channel hung up after the app's hangup command. */
const DISCONNECT_BODY = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

/**
 * A fake FreeSWITCH at the far end of one outbound event socket, speaking the event-socket
 * protocol on a real loopback TCP connection, so that drachtio-modesl's Connection and
 * drachtio-fsmrf's Endpoint run unchanged on top of it (tests of gateway/connections.ts).
 * What it does, as the recorded FreeSWITCH 1.10.12 did:
 * - answers "connect" with the recorded channel data;
 * - answers every other command with "+OK" in order, and "api …" with an api/response whose
 *   body is `apiReplies[name]` (else "+OK"), or "-ERR No such channel!" once the channel is gone;
 *   the headers and the body leave as two writes, as FreeSWITCH sent them in two segments;
 * - on "sendmsg … execute-app-name: hangup" hangs the channel up: BYE to drachtio (`onBye`), the
 *   recorded text/disconnect-notice, then closes the socket;
 * - `kill()` is SIGKILL: the socket just goes, nothing else is sent.
 */
export class FakeFreeswitchChannel {
  readonly uuid = RECORDED_UUID;
  /** The first line of every command received, in order. */
  readonly commands: string[] = [];
  /** Replies to API commands by name, e.g. { uuid_audio: '-ERR no reply' }. */
  readonly apiReplies: Record<string, string> = {};
  /** FreeSWITCH's BYE for its leg, as drachtio would deliver it to the leg's dialog. */
  onBye: () => void = () => undefined;
  /** FreeSWITCH takes the hangup command but has not hung up yet (a busy or dying FreeSWITCH). */
  hangupPending = false;
  private received = '';
  private written: Promise<void> = Promise.resolve();
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
      this.send(CONNECT_REPLY);
      return;
    }
    if (first.startsWith('api ')) {
      const name = first.slice(4).split(' ')[0]!;
      const body = this.hungUp ? '-ERR No such channel!\n' : (this.apiReplies[name] ?? '+OK Success\n');
      this.send(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n`, body);
      return;
    }
    this.send('Content-Type: command/reply\nReply-Text: +OK\n\n');
    if (first.startsWith('sendmsg') && command.includes('execute-app-name: hangup') && !this.hangupPending) {
      this.hungUp = true;
      setImmediate(() => {
        this.onBye();
        this.send(`Content-Type: text/disconnect-notice\nControlled-Session-UUID: ${this.uuid}\nContent-Disposition: disconnect\nContent-Length: ${Buffer.byteLength(DISCONNECT_BODY)}\n\n`, DISCONNECT_BODY);
        this.written = this.written.then(() => {
          this.socket.end();
        });
      });
    }
  }

  /** Writes in order, each part a write of its own a tick after the one before (a TCP segment of its own on lo). */
  private send(...parts: string[]): void {
    for (const part of parts) {
      this.written = this.written.then(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        if (!this.socket.destroyed) this.socket.write(part);
      });
    }
  }
}
