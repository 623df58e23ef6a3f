import { writeFileSync } from 'node:fs';
import { alawTone } from './g711';

/**
 * Pcaps of one caller's RTP for sipp's play_pcap_audio: RFC 4733 telephone-events for keys,
 * and G.711 A-law audio. Each call's pcaps form one continuous stream (same SSRC, sequence
 * numbers and timestamps only grow, placed by `startMs` on the call's RTP clock), as a phone
 * sends it: FreeSWITCH drops packets that go back in time, so it takes every key, also a
 * repeated one (drachtio-srf's per-key pcaps each restart their numbering). Addresses and ports
 * are placeholders: sipp sends to the call's negotiated media address.
 */

const EVENT_CODES: Record<string, number> = { '*': 10, '#': 11 };
const EVENT_PAYLOAD_TYPE = 101;
const PCMA_PAYLOAD_TYPE = 8;
const PACKET_INTERVAL_MS = 20;
const SAMPLES_PER_MS = 8;
const SAMPLES_PER_PACKET = PACKET_INTERVAL_MS * SAMPLES_PER_MS;
const PACKETS_PER_KEY = 8;
const END_REPEATS = 3;
const GAP_MS = 120;
const SSRC = 0x5eed1234;

interface RtpPacket {
  timeMs: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  payload: Buffer;
}

function eventCode(key: string): number {
  if (/^[0-9]$/.test(key)) return Number(key);
  const code = EVENT_CODES[key];
  if (code === undefined) throw new Error(`no telephone-event for key "${key}"`);
  return code;
}

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function frame(rtp: Buffer): Buffer {
  const ethernet = Buffer.alloc(14);
  ethernet.writeUInt16BE(0x0800, 12);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(6000, 0);
  udp.writeUInt16BE(6002, 2);
  udp.writeUInt16BE(8 + rtp.length, 4);
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + 8 + rtp.length, 2);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(17, 9);
  Buffer.from([127, 0, 0, 1]).copy(ip, 12);
  Buffer.from([127, 0, 0, 1]).copy(ip, 16);
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  return Buffer.concat([ethernet, ip, udp, rtp]);
}

function pcapFile(packets: RtpPacket[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const records = packets.flatMap((packet) => {
    const rtp = Buffer.alloc(12);
    rtp.writeUInt8(0x80, 0);
    rtp.writeUInt8((packet.marker ? 0x80 : 0) | packet.payloadType, 1);
    rtp.writeUInt16BE(packet.sequence & 0xffff, 2);
    rtp.writeUInt32BE(packet.timestamp, 4);
    rtp.writeUInt32BE(SSRC, 8);
    const framed = frame(Buffer.concat([rtp, packet.payload]));
    const recordHeader = Buffer.alloc(16);
    recordHeader.writeUInt32LE(Math.floor(packet.timeMs / 1000), 0);
    recordHeader.writeUInt32LE((packet.timeMs % 1000) * 1000, 4);
    recordHeader.writeUInt32LE(framed.length, 8);
    recordHeader.writeUInt32LE(framed.length, 12);
    return [recordHeader, framed];
  });
  return Buffer.concat([header, ...records]);
}

/** The first sequence number and timestamp of a packet sent `ms` into the call. */
const sequenceAt = (ms: number) => 1000 + Math.floor(ms / PACKET_INTERVAL_MS);
const timestampAt = (ms: number) => SAMPLES_PER_PACKET + ms * SAMPLES_PER_MS;

export function dtmfPcap(keys: string, startMs = 0): Buffer {
  const packets: RtpPacket[] = [];
  let timeMs = 0;
  let sequence = sequenceAt(startMs);
  for (const key of keys) {
    const eventTimestamp = timestampAt(startMs + timeMs);
    for (let packet = 0; packet < PACKETS_PER_KEY + END_REPEATS; packet++) {
      const ending = packet >= PACKETS_PER_KEY;
      const duration = Math.min(packet, PACKETS_PER_KEY - 1) * SAMPLES_PER_PACKET + SAMPLES_PER_PACKET;
      const payload = Buffer.alloc(4);
      payload.writeUInt8(eventCode(key), 0);
      payload.writeUInt8((ending ? 0x80 : 0) | 10, 1);
      payload.writeUInt16BE(duration, 2);
      packets.push({
        timeMs: timeMs + Math.min(packet, PACKETS_PER_KEY) * PACKET_INTERVAL_MS,
        marker: packet === 0,
        payloadType: EVENT_PAYLOAD_TYPE,
        sequence: sequence++,
        timestamp: eventTimestamp,
        payload,
      });
    }
    timeMs += PACKETS_PER_KEY * PACKET_INTERVAL_MS + GAP_MS;
  }
  return pcapFile(packets);
}

/** How long sipp takes to play the keys. */
export function dtmfPcapDurationMs(keys: string): number {
  return [...keys].length * (PACKETS_PER_KEY * PACKET_INTERVAL_MS + GAP_MS);
}

/** One packet of a 400 Hz tone: a whole number of periods, so every packet is the same. */
const TONE_PAYLOAD = alawTone(400, SAMPLES_PER_PACKET);

/** `durationMs` of PCMA in 20 ms packets — what the SDP of our callers announces, as trunks send it. */
export function audioPcap(durationMs: number, startMs = 0): Buffer {
  const packets = Array.from({ length: Math.ceil(durationMs / PACKET_INTERVAL_MS) }, (_, i): RtpPacket => ({
    timeMs: i * PACKET_INTERVAL_MS,
    marker: i === 0,
    payloadType: PCMA_PAYLOAD_TYPE,
    sequence: sequenceAt(startMs) + i,
    timestamp: timestampAt(startMs + i * PACKET_INTERVAL_MS),
    payload: TONE_PAYLOAD,
  }));
  return pcapFile(packets);
}

export function writeDtmfPcap(path: string, keys: string, startMs = 0): void {
  writeFileSync(path, dtmfPcap(keys, startMs));
}

export function writeAudioPcap(path: string, durationMs: number, startMs = 0): void {
  writeFileSync(path, audioPcap(durationMs, startMs));
}
