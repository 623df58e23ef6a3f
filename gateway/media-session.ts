import type { Logger } from 'pino';
import { parse as parseSdp } from 'sdp-transform';
import { CallEnded, type CallScope } from './call-scope';
import { codecsOf, firstCodec } from './sdp-codecs';
import { FreeswitchRefused, sipStatusOf, type MediaEndpoint, type SipDialog, type SipRequest, type SipResponse } from './sip';

/**
 * The caller's media session once the call is answered (RFC 3261, 3264, 3311, 4028): what a
 * carrier or PBX sends in a long call reaches FreeSWITCH's endpoint, and FreeSWITCH's answer goes
 * back. A session refresh, hold (a=sendonly, a=inactive) and resume, and media moved to another
 * address are offers FreeSWITCH answers (on hold it stops the caller's audio towards the room and
 * waits rtp-hold-timeout-sec before it calls the media lost). An offer without audio we can carry
 * (only T.38, only unknown codecs) gets 488 and changes nothing. A re-INVITE without SDP gets
 * FreeSWITCH's SDP as our offer and the ACK's answer goes to FreeSWITCH, as does the answer in
 * the ACK of a caller who sent its first INVITE without SDP (a delayed offer). Session timers
 * are drachtio-server's (it ends a session nobody refreshes); the answers here say who refreshes.
 */

/** How long we wait for the ACK that carries the answer to our offer: 64 × T1, after which drachtio-server gives up retransmitting. */
export const ANSWER_IN_ACK_WITHIN_MS = 32_000;

/**
 * Why an offer is refused with 488, or undefined when FreeSWITCH may see it. FreeSWITCH must not
 * see one it cannot take: it answers 488 itself, but its channel then no longer passes the
 * caller's audio on (seen on FreeSWITCH 1.10.12), so the gateway refuses it first, by the codecs
 * FreeSWITCH is configured with (FREESWITCH_CODECS).
 */
export function offerRefusal(sdp: string, codecs: string[]): string | undefined {
  let session;
  try {
    session = parseSdp(sdp);
  } catch {
    return 'the SDP cannot be read';
  }
  const active = (session.media ?? []).filter((media) => media.port !== 0);
  if (active.some((media) => media.type === 'image')) return 'a fax (T.38) stream, which the gateway does not carry';
  const audio = active.find((media) => media.type === 'audio');
  if (!audio) return 'no audio stream';
  if (!codecsOf(audio).some((name) => name !== undefined && codecs.includes(name))) return `none of the codecs FreeSWITCH has (${codecs.join(', ')})`;
  return undefined;
}

/**
 * RFC 4028 §9: a refresh that asks for a session timer gets its Session-Expires back, saying who
 * refreshes: the far end when it supports timers (then Require: timer), else us. drachtio-server
 * arms its timer from this header, so both sides agree and a caller who refreshes is never cut.
 */
export function sessionTimerHeaders(req: SipRequest): Record<string, string> {
  const sessionExpires = req.get('Session-Expires');
  const delta = sessionExpiresSeconds(req);
  if (sessionExpires === undefined || delta === undefined) return {};
  const asked = /;\s*refresher\s*=\s*(uac|uas)\b/i.exec(sessionExpires)?.[1]?.toLowerCase();
  const theyCan = /(^|,)\s*timer\s*(,|$)/i.test(req.get('Supported') ?? '');
  const refresher = asked ?? (theyCan ? 'uac' : 'uas');
  return { 'Session-Expires': `${delta};refresher=${refresher}`, ...(refresher === 'uac' ? { Require: 'timer' } : {}) };
}

/** The interval a request's Session-Expires asks for, or undefined without a readable one. */
export function sessionExpiresSeconds(req: SipRequest): number | undefined {
  const delta = /^\s*(\d+)/.exec(req.get('Session-Expires') ?? '')?.[1];
  return delta === undefined ? undefined : Number(delta);
}

const hasSdp = (req: SipRequest) => req.body.trim() !== '';
/** Two SDPs that differ in their origin line only describe the same session (RFC 3264 §8: a refresh). */
const sameSession = (a: string, b: string) => a.replace(/^o=.*$/m, '') === b.replace(/^o=.*$/m, '');

export class MediaSession {
  /** FreeSWITCH's SDP as the far end last got it from us (our answer, or our offer). */
  private localSdp: string;
  /** The far end's SDP FreeSWITCH last accepted. */
  private remoteSdp: string | undefined;
  /** An offer of the far end we are answering, or an offer of ours waiting for the answer in an ACK. */
  private negotiating: 'no' | 'answering' | 'offered' = 'no';
  private answerArrived?: (sdp: string | undefined) => void;
  /** The answer of the last offer-answer exchange: its first codec is the one in use. */
  private answerSdp: string | undefined;
  private readonly answerInAckWithinMs: number;
  private readonly codecs: string[];

  constructor(
    private readonly dialog: SipDialog,
    private readonly endpoint: MediaEndpoint,
    options: {
      localSdp: string;
      /** The far end's SDP; undefined until the ACK of a delayed offer brings it. */
      remoteSdp: string | undefined;
      /** Whether our SDP (FreeSWITCH's) was the offer: a delayed offer's, a dial-out's. */
      weOffered: boolean;
      codecs: string[];
      answerInAckWithinMs: number;
    },
    private readonly scope: CallScope,
    private readonly log: Logger,
    /** FreeSWITCH's channel carries no audio any more: the call ends. */
    private readonly onMediaLost: () => void,
  ) {
    this.localSdp = options.localSdp;
    this.remoteSdp = options.remoteSdp;
    this.answerSdp = options.weOffered ? options.remoteSdp : options.localSdp;
    this.answerInAckWithinMs = options.answerInAckWithinMs;
    this.codecs = options.codecs;
    if (options.remoteSdp === undefined) this.negotiating = 'offered';
    scope.on(dialog, 'modify', (req: SipRequest, res: SipResponse) => this.onReInvite(req, res));
    scope.on(dialog, 'update', (req: SipRequest, res: SipResponse) => this.onUpdate(req, res));
    scope.on(dialog, 'ack', (req: SipRequest) => this.onAck(req));
  }

  /**
   * A delayed offer: our 200 OK carried FreeSWITCH's offer, and the caller's answer comes in the
   * ACK. Resolves once FreeSWITCH has it; false when none came or FreeSWITCH could not take it.
   */
  async answerFromAck(): Promise<boolean> {
    const answer = await this.scope.guard(this.nextAnswer());
    if (answer === undefined) {
      this.log.warn('no SDP answer in the ACK of a delayed offer');
      return false;
    }
    try {
      await this.scope.guard(this.endpoint.modify(answer));
    } catch (error) {
      if (error instanceof CallEnded) throw error;
      this.log.warn({ err: error }, "FreeSWITCH refused the caller's answer");
      return false;
    }
    this.remoteSdp = answer;
    this.answerSdp = answer;
    return true;
  }

  /** The codec the far end and FreeSWITCH use (lower-case), once the media is negotiated. */
  codec(): string | undefined {
    return firstCodec(this.answerSdp);
  }

  /** The SDP of the next ACK, or undefined when it has none or none comes in time (ANSWER_IN_ACK_WITHIN_MS). */
  private async nextAnswer(): Promise<string | undefined> {
    return new Promise((resolve) => {
      const deadline = this.scope.after(this.answerInAckWithinMs, () => settle(undefined));
      const settle = (sdp: string | undefined) => {
        this.scope.clear(deadline);
        this.answerArrived = undefined;
        this.negotiating = 'no';
        resolve(sdp);
      };
      this.answerArrived = settle;
    });
  }

  private onAck(req: SipRequest): void {
    this.answerArrived?.(hasSdp(req) ? req.body : undefined);
  }

  private onReInvite(req: SipRequest, res: SipResponse): void {
    if (this.busy(res)) return;
    if (!hasSdp(req)) {
      this.offerInReInvite(req, res);
      return;
    }
    this.scope.run('answering a re-INVITE', async () => this.answerOffer(req, res));
  }

  private onUpdate(req: SipRequest, res: SipResponse): void {
    if (!hasSdp(req)) {
      // A session refresh without an offer (RFC 3311, RFC 4028 §7.4).
      res.send(200, undefined, { headers: sessionTimerHeaders(req) });
      return;
    }
    if (this.busy(res)) return;
    this.scope.run('answering an UPDATE', async () => this.answerOffer(req, res));
  }

  /**
   * One offer-answer exchange at a time (RFC 3261 §14.2, RFC 3311 §5.2): an offer while ours
   * waits for its answer is a glare (491); one while we answer another waits (500, Retry-After).
   */
  private busy(res: SipResponse): boolean {
    if (this.negotiating === 'offered') res.send(491);
    else if (this.negotiating === 'answering') res.send(500, undefined, { headers: { 'Retry-After': String(1 + Math.floor(Math.random() * 10)) } });
    return this.negotiating !== 'no';
  }

  /** A re-INVITE without SDP asks for our offer: FreeSWITCH's current SDP; the answer comes in the ACK. */
  private offerInReInvite(req: SipRequest, res: SipResponse): void {
    this.negotiating = 'offered';
    res.send(200, undefined, { headers: withSdp(req), body: this.localSdp });
    this.scope.run('taking the answer of a re-INVITE without SDP', async () => {
      const answer = await this.scope.guard(this.nextAnswer());
      if (answer === undefined) {
        this.log.warn('no SDP answer in the ACK of a re-INVITE without SDP; the media stays as it was');
        return;
      }
      if (this.remoteSdp !== undefined && sameSession(answer, this.remoteSdp)) return;
      const refusal = offerRefusal(answer, this.codecs);
      if (refusal !== undefined) {
        this.log.warn({ why: refusal }, 'an unusable SDP answer in an ACK; the media stays as it was');
        return;
      }
      if ((await this.toFreeswitch(answer)) !== undefined) this.answerSdp = answer;
    });
  }

  private async answerOffer(req: SipRequest, res: SipResponse): Promise<void> {
    const offer = req.body;
    const refusal = offerRefusal(offer, this.codecs);
    if (refusal !== undefined) {
      this.log.info({ why: refusal }, 'an offer refused with 488; the call goes on as it was');
      res.send(488);
      return;
    }
    if (this.remoteSdp !== undefined && sameSession(offer, this.remoteSdp)) {
      // A session refresh: the same media, a new origin version. FreeSWITCH need not know.
      res.send(200, undefined, { headers: withSdp(req), body: this.localSdp });
      return;
    }
    this.negotiating = 'answering';
    try {
      const answer = await this.toFreeswitch(offer);
      if (answer === undefined) res.send(488);
      else res.send(200, undefined, { headers: withSdp(req), body: answer });
    } catch (error) {
      // The call is ending (or FreeSWITCH's channel is gone, which ends it): this offer changes nothing.
      if (!res.finalResponseSent) res.send(error instanceof CallEnded ? 481 : 500);
      throw error;
    } finally {
      this.negotiating = 'no';
    }
  }

  /**
   * FreeSWITCH's answer to the far end's SDP, or undefined when FreeSWITCH refuses it: a 488, or
   * its audio turned off, for an offer offerRefusal let through (a codec FREESWITCH_CODECS names
   * but FreeSWITCH lacks). After refusing, FreeSWITCH 1.10.12's bridged channel passes no audio
   * either way, and offering it the last SDP again does not bring it back (measured on the real
   * stack): the call ends rather than going on silent.
   */
  private async toFreeswitch(offer: string): Promise<string | undefined> {
    try {
      const answer = await this.scope.guard(this.endpoint.modify(offer));
      this.localSdp = answer;
      this.remoteSdp = offer;
      this.answerSdp = answer;
      return answer;
    } catch (error) {
      if (error instanceof CallEnded || (sipStatusOf(error) === undefined && !(error instanceof FreeswitchRefused))) throw error;
      this.log.error({ status: sipStatusOf(error), err: error }, 'FreeSWITCH refused an offer the gateway let through (does FREESWITCH_CODECS name a codec it lacks?); its channel carries no audio now: ending the call');
      this.onMediaLost();
      return undefined;
    }
  }
}

const withSdp = (req: SipRequest) => ({ 'Content-Type': 'application/sdp', ...sessionTimerHeaders(req) });
