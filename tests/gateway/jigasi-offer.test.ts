import { offerForJigasi } from '../../gateway/jigasi-offer';
import { firstCodec } from '../../gateway/sdp-codecs';
import { FREESWITCH_OFFER } from '../fakes/freeswitch';

describe("FreeSWITCH's offer to Jigasi", () => {
  it('puts Opus first for a G.722 or Opus caller, so Jigasi (which answers in the offer\'s order and has G.722 off) keeps the call wideband', () => {
    for (const codec of ['g722', 'opus']) {
      const offer = offerForJigasi(FREESWITCH_OFFER, codec);
      expect(offer).toContain('m=audio 20578 RTP/AVP 102 8 0 9 101\r\n');
      expect(offer.replace('102 8 0 9 101', '8 0 9 102 101')).toBe(FREESWITCH_OFFER);
    }
  });

  it.each([['pcma'], ['pcmu'], [undefined]])('stays as FreeSWITCH made it for a %s caller: G.711 passes through untouched', (codec) => {
    expect(offerForJigasi(FREESWITCH_OFFER, codec)).toBe(FREESWITCH_OFFER);
  });

  it('stays as it is when it has no Opus or cannot be read', () => {
    const withoutOpus = FREESWITCH_OFFER.replace(' 102 101', ' 101').replace(/a=rtpmap:102.*\r\na=fmtp:102.*\r\n/, '');
    expect(offerForJigasi(withoutOpus, 'g722')).toBe(withoutOpus);
    expect(offerForJigasi('v=0 fs-offer', 'g722')).toBe('v=0 fs-offer');
  });

  it('reads the codec in use from an answer: the first of its audio formats', () => {
    expect(firstCodec(FREESWITCH_OFFER.replace('8 0 9 102 101', '9 101'))).toBe('g722');
    expect(firstCodec(FREESWITCH_OFFER)).toBe('pcma');
    expect(firstCodec(FREESWITCH_OFFER.replace('8 0 9 102 101', '102 101'))).toBe('opus');
    expect(firstCodec(undefined)).toBeUndefined();
  });
});
