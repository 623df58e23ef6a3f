import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { alawDecode, alawTone, toneShare } from './g711';

/**
 * The media side of a phone or of Jigasi in the end-to-end suite: UDP sockets on loopback that
 * receive FreeSWITCH's RTP and send 20 ms packets of a tone back, as a real endpoint does.
 * Symmetric: it sends to the address FreeSWITCH last sent from (FreeSWITCH's auto-adjust does the
 * same the other way). What arrived is kept with its time, so a case can measure, window by
 * window, whether audio flowed and whose it was.
 */

const PACKET_MS = 20;
const SAMPLES_PER_PACKET = 160;
const PCMA = 8;
/** A tone's share of a packet's energy above which the packet carries it. */
const TONE_THRESHOLD = 0.5;
/** An A-law packet quieter than this (RMS of the linear samples) is silence. */
const SILENCE_RMS = 100;

export interface ReceivedPacket {
  at: number;
  /** Which of the peer's sockets it arrived at (index into `ports`). */
  socket: number;
  payloadType: number;
  /** For PCMA: whether it carries sound, and the tones (Hz) it carries. */
  sound: boolean;
  tones: number[];
}

export type Sending =
  /** A PCMA tone at this frequency. */
  | { payloadType: typeof PCMA; toneHz: number }
  /** Random payload of this payload type: sound without a decoder here (G.722 is 9). */
  | { payloadType: number; noise: true };

export interface Heard {
  packets: number;
  /** Packets carrying sound (PCMA), or any packet of another payload type. */
  withSound: number;
  /** Packets carrying the tone asked for. */
  withTone: number;
  payloadTypes: number[];
}

export class RtpPeer {
  private readonly received: ReceivedPacket[] = [];
  private remote?: { address: string; port: number };
  private sending?: { what: Sending; socket: number };
  private timer?: NodeJS.Timeout;
  private sequence = randomBytes(2).readUInt16BE();
  private timestamp = randomBytes(4).readUInt32BE();
  private readonly ssrc = randomBytes(4).readUInt32BE();

  private constructor(
    private readonly sockets: Socket[],
    readonly ports: number[],
    /** Tones (Hz) to look for in what arrives. */
    private readonly listenFor: number[],
  ) {
    sockets.forEach((socket, index) =>
      socket.on('message', (packet, from) => {
        if (packet.length < 12) return;
        this.remote = { address: from.address, port: from.port };
        this.received.push({ at: Date.now(), socket: index, ...analyse(packet, listenFor) });
      }),
    );
  }

  /** A peer with `count` sockets on 127.0.0.1 (a second one: the address an SBC fails over to). */
  static async open(listenFor: number[], count = 1): Promise<RtpPeer> {
    const sockets = await Promise.all(
      Array.from({ length: count }, async () => {
        const socket = createSocket('udp4');
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(0, '127.0.0.1', () => resolve());
        });
        return socket;
      }),
    );
    return new RtpPeer(sockets, sockets.map((socket) => socket.address().port), listenFor);
  }

  /** Sends `what` from socket `socket` every 20 ms, once FreeSWITCH's address is known; undefined stops sending. */
  send(what: Sending | undefined, socket = 0): void {
    this.sending = what && { what, socket };
    if (what && !this.timer) this.timer = setInterval(() => this.sendOne(), PACKET_MS);
    if (!what && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** What arrived from `from` to `to` (epoch ms), at one socket or all. */
  heard(from: number, to: number, options: { socket?: number; toneHz?: number } = {}): Heard {
    const packets = this.received.filter((packet) => packet.at >= from && packet.at < to && (options.socket === undefined || packet.socket === options.socket));
    return {
      packets: packets.length,
      withSound: packets.filter((packet) => packet.sound).length,
      withTone: options.toneHz === undefined ? 0 : packets.filter((packet) => packet.tones.includes(options.toneHz!)).length,
      payloadTypes: [...new Set(packets.map((packet) => packet.payloadType))].sort((a, b) => a - b),
    };
  }

  close(): void {
    this.send(undefined);
    for (const socket of this.sockets) socket.close();
  }

  private sendOne(): void {
    if (!this.sending || !this.remote) return;
    const { what, socket } = this.sending;
    const header = Buffer.alloc(12);
    header.writeUInt8(0x80, 0);
    header.writeUInt8(what.payloadType, 1);
    header.writeUInt16BE(this.sequence, 2);
    header.writeUInt32BE(this.timestamp >>> 0, 4);
    header.writeUInt32BE(this.ssrc, 8);
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + SAMPLES_PER_PACKET) >>> 0;
    const payload = 'toneHz' in what ? alawTone(what.toneHz, SAMPLES_PER_PACKET) : randomBytes(SAMPLES_PER_PACKET);
    this.sockets[socket]!.send(Buffer.concat([header, payload]), this.remote.port, this.remote.address);
  }
}

function analyse(packet: Buffer, listenFor: number[]): Omit<ReceivedPacket, 'at' | 'socket'> {
  const payloadType = packet.readUInt8(1) & 0x7f;
  const headerLength = 12 + 4 * (packet.readUInt8(0) & 0x0f);
  if (payloadType !== PCMA) return { payloadType, sound: true, tones: [] };
  const samples = [...packet.subarray(headerLength)].map(alawDecode);
  const rms = Math.sqrt(samples.reduce((sum, sample) => sum + sample * sample, 0) / Math.max(1, samples.length));
  const sound = rms > SILENCE_RMS;
  return { payloadType, sound, tones: sound ? listenFor.filter((hz) => toneShare(samples, hz) > TONE_THRESHOLD) : [] };
}
