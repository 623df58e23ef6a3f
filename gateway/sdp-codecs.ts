import { parse as parseSdp, type MediaDescription } from 'sdp-transform';

/** Codecs of the static payload types (RFC 3551), which need no rtpmap line. */
const STATIC_PAYLOAD_TYPES: Record<string, string> = { 0: 'pcmu', 3: 'gsm', 4: 'g723', 8: 'pcma', 9: 'g722', 13: 'cn', 18: 'g729' };

/** A media stream's codecs in the order of its formats, lower-case; undefined for a format nothing names. */
export function codecsOf(media: MediaDescription): Array<string | undefined> {
  const names = new Map((media.rtp ?? []).map((rtp) => [String(rtp.payload), rtp.codec.toLowerCase()]));
  return String(media.payloads ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((format) => names.get(format) ?? STATIC_PAYLOAD_TYPES[format]);
}

/** The first codec of an SDP's audio stream (the one in use, in an answer), lower-case. */
export function firstCodec(sdp: string | undefined): string | undefined {
  if (!sdp) return undefined;
  try {
    const audio = parseSdp(sdp).media?.find((media) => media.type === 'audio');
    return audio && codecsOf(audio)[0];
  } catch {
    return undefined;
  }
}
