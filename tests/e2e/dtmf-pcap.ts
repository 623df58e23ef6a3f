import { writeFileSync } from 'node:fs';

/**
 * Writes a pcap of RFC 4733 telephone-events for a key sequence, for sipp's play_pcap_audio.
 * One continuous RTP stream: sequence numbers and timestamps only grow, so FreeSWITCH takes
 * every key, also a repeated one (drachtio-srf's per-key pcaps each restart their numbering).
 * Addresses and ports are placeholders: sipp sends to the call's negotiated media address.
 */

const EVENT_CODES: Record<string, number> = { '*': 10, '#': 11 };
const PAYLOAD_TYPE = 101;
const PACKET_INTERVAL_MS = 20;
const SAMPLES_PER_MS = 8;
const PACKETS_PER_KEY = 8;
const END_REPEATS = 3;
const GAP_MS = 120;

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

/**
 * `startMs` places the keys on the call's RTP clock: a second entry in the same call must
 * continue the numbering of the first, or FreeSWITCH drops its packets as old.
 */
export function dtmfPcap(keys: string, startMs = 0): Buffer {
  const records: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  records.push(header);

  let timeMs = 0;
  let sequence = 1000 + Math.floor(startMs / PACKET_INTERVAL_MS);
  const ssrc = 0x5eed1234;
  for (const key of keys) {
    const eventTimestamp = 160 + (startMs + timeMs) * SAMPLES_PER_MS;
    for (let packet = 0; packet < PACKETS_PER_KEY + END_REPEATS; packet++) {
      const ending = packet >= PACKETS_PER_KEY;
      const duration = Math.min(packet, PACKETS_PER_KEY - 1) * PACKET_INTERVAL_MS * SAMPLES_PER_MS + PACKET_INTERVAL_MS * SAMPLES_PER_MS;
      const rtp = Buffer.alloc(16);
      rtp.writeUInt8(0x80, 0);
      rtp.writeUInt8((packet === 0 ? 0x80 : 0) | PAYLOAD_TYPE, 1);
      rtp.writeUInt16BE(sequence++ & 0xffff, 2);
      rtp.writeUInt32BE(eventTimestamp, 4);
      rtp.writeUInt32BE(ssrc, 8);
      rtp.writeUInt8(eventCode(key), 12);
      rtp.writeUInt8((ending ? 0x80 : 0) | 10, 13);
      rtp.writeUInt16BE(duration, 14);
      const packetTime = timeMs + Math.min(packet, PACKETS_PER_KEY) * PACKET_INTERVAL_MS;
      const recordHeader = Buffer.alloc(16);
      const framed = frame(rtp);
      recordHeader.writeUInt32LE(Math.floor(packetTime / 1000), 0);
      recordHeader.writeUInt32LE((packetTime % 1000) * 1000, 4);
      recordHeader.writeUInt32LE(framed.length, 8);
      recordHeader.writeUInt32LE(framed.length, 12);
      records.push(recordHeader, framed);
    }
    timeMs += PACKETS_PER_KEY * PACKET_INTERVAL_MS + GAP_MS;
  }
  return Buffer.concat(records);
}

/** How long sipp takes to play the keys. */
export function dtmfPcapDurationMs(keys: string): number {
  return [...keys].length * (PACKETS_PER_KEY * PACKET_INTERVAL_MS + GAP_MS);
}

export function writeDtmfPcap(path: string, keys: string, startMs = 0): void {
  writeFileSync(path, dtmfPcap(keys, startMs));
}
