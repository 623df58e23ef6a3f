import { parse as parseSdp } from 'sdp-transform';

/**
 * The codec order of FreeSWITCH's offer to Jigasi. Jigasi answers in the order of the offer (seen
 * on the real Jigasi) and docker-jitsi-meet's Jigasi has G.722 off, so with FreeSWITCH's order
 * (G.711 first) a G.722 caller would reach Jitsi narrowband. For a wideband caller Opus goes
 * first: FreeSWITCH turns G.722 into Opus and the room hears the caller at 16 kHz. A G.711 caller
 * keeps G.711 first: nothing to transcode.
 */

const WIDEBAND = new Set(['g722', 'opus']);

export function offerForJigasi(offer: string, callerCodec: string | undefined): string {
  if (callerCodec === undefined || !WIDEBAND.has(callerCodec)) return offer;
  let opus: string | undefined;
  try {
    opus = parseSdp(offer).media?.find((media) => media.type === 'audio')?.rtp.find((rtp) => rtp.codec.toLowerCase() === 'opus')?.payload.toString();
  } catch {
    return offer;
  }
  if (opus === undefined) return offer;
  return offer.replace(/^(m=audio \d+ \S+)((?: \d+)+)/m, (_line, head: string, formats: string) => `${head} ${opus} ${formats.trim().split(' ').filter((format) => format !== opus).join(' ')}`);
}
