import type { SipRequest } from './sip';

/** Lets the call cancel an INVITE that is still ringing. */
export interface PendingInvite {
  readonly cancel: () => void;
}

/**
 * The CANCEL of an outgoing INVITE, sent once however often the call asks (its teardown, then the
 * ring timeout). Asked before drachtio-srf has handed over the request
 * (cbRequest), it leaves as soon as the request is there.
 */
export function cancellation(): { pending: PendingInvite; requestSent: (req: SipRequest) => void } {
  let sent: SipRequest | undefined;
  let cancelled = false;
  const sendCancel = () => {
    try {
      sent?.cancel();
    } catch {
      // the INVITE already has its final answer; the call cleans up the dialog
    }
  };
  return {
    pending: {
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        sendCancel();
      },
    },
    requestSent: (req) => {
      sent = req;
      if (cancelled) sendCancel();
    },
  };
}
