/** G.711 A-law (ITU-T G.711) and tone detection, for the test bed's RTP: pcaps sipp plays, and the RTP peers of tools/testbed/rtp-peer.ts. */

export const SAMPLE_RATE = 8000;

/** G.711 A-law of one 16-bit linear sample (segment and mantissa, even bits inverted). */
export function alawEncode(sample: number): number {
  const sign = sample >= 0 ? 0x80 : 0;
  const magnitude = Math.min(Math.abs(sample), 32767) >> 3;
  let segment = 0;
  while (segment < 7 && magnitude >= 32 << segment) segment++;
  const mantissa = segment === 0 ? magnitude >> 1 : (magnitude >> segment) & 0x0f;
  return (sign | (segment << 4) | mantissa) ^ 0x55;
}

/** The 16-bit linear sample of an A-law byte. */
export function alawDecode(byte: number): number {
  const value = byte ^ 0x55;
  const segment = (value >> 4) & 0x07;
  const mantissa = value & 0x0f;
  const magnitude = segment === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (segment - 1);
  return value & 0x80 ? magnitude : -magnitude;
}

/** `samples` of a sine at `frequency` Hz, about −20 dBFS, in A-law. */
export function alawTone(frequency: number, samples: number): Buffer {
  return Buffer.from(Array.from({ length: samples }, (_, i) => alawEncode(Math.round(3277 * Math.sin((2 * Math.PI * frequency * i) / SAMPLE_RATE)))));
}

/**
 * The share of a frame's energy at `frequency` (Goertzel), 0–1: near 1 for a pure tone at that
 * frequency, near 0 for silence, speech elsewhere or another tone.
 */
export function toneShare(samples: number[], frequency: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / SAMPLE_RATE);
  let previous = 0;
  let beforePrevious = 0;
  let energy = 0;
  for (const sample of samples) {
    const current = sample + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
    energy += sample * sample;
  }
  if (energy === 0) return 0;
  const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
  return Math.min(1, (2 * power) / (samples.length * energy));
}
