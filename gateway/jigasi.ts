import type { Logger } from 'pino';
import { CallEnded, type CallScope } from './call-scope';
import { cancellation, type PendingInvite } from './pending-invite';
import { sipStatusOf, type SipDialog, type SipServer } from './sip';

/**
 * The leg into Jitsi: which Jigasi to ask (SPEC §4 step 7) and the INVITE that carries the
 * room (jitsi-contract.md). Jigasi answers only once the conference media is up, up to ~30 s.
 */

/** Longer than Jigasi's own JVB_INVITE_TIMEOUT (30 s), so Jigasi decides, not us. */
const JIGASI_ANSWER_TIMEOUT_MS = 40_000;

export class JigasiPool {
  private readonly active = new Map<string, number>();
  private readonly down = new Set<string>();

  constructor(readonly uris: readonly string[]) {
    for (const uri of uris) this.active.set(uri, 0);
  }

  /** Fewest active calls first, ties in configured order (the sort is stable); instances marked down go last. */
  order(): string[] {
    return [...this.uris].sort((a, b) => Number(this.down.has(a)) - Number(this.down.has(b)) || this.active.get(a)! - this.active.get(b)!);
  }

  isDown(uri: string): boolean {
    return this.down.has(uri);
  }

  /** Health checks report here; a down instance is still tried when no other is up. */
  markDown(uri: string, isDown: boolean): void {
    if (isDown) this.down.add(uri);
    else this.down.delete(uri);
  }

  /** Counts a call on the instance until the returned function is called. */
  hold(uri: string): () => void {
    this.active.set(uri, (this.active.get(uri) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active.set(uri, Math.max(0, (this.active.get(uri) ?? 1) - 1));
    };
  }
}

export interface JigasiInvite {
  /** FreeSWITCH's offer for the Jigasi leg. */
  localSdp: string;
  /** Full MUC address, e.g. b%c3%bcrgerforum@conference.meet.example.org */
  roomJid: string;
  password: string | null;
  displayName: string;
  roomHeader: string;
  passwordHeader: string;
}

export class JigasiUnreachable extends Error {
  constructor(readonly attempts: Array<{ uri: string; outcome: string }>) {
    super(`no Jigasi answered: ${attempts.map((attempt) => `${attempt.uri} ${attempt.outcome}`).join(', ')}`);
    this.name = 'JigasiUnreachable';
  }

  /**
   * Every Jigasi answered 486: each reached Jitsi but could not join the room, which is what a
   * locked room without the right password gets (room-password.ts).
   */
  get refusedToJoin(): boolean {
    return this.attempts.length > 0 && this.attempts.every((attempt) => attempt.outcome === '486');
  }
}

function headersFor(invite: JigasiInvite): Record<string, string> {
  // drachtio-srf would copy the From (display name included) into the Contact; a Contact is an
  // address, and the caller's name has no business there (drachtio-server fills in its host).
  const headers: Record<string, string> = { Contact: '<sip:dialin@localhost>', [invite.roomHeader]: invite.roomJid };
  if (invite.password) headers[invite.passwordHeader] = invite.password;
  return headers;
}

/**
 * INVITEs one instance; resolves with the dialog, rejects with the SIP status (or 408 on our
 * timeout). `register` receives a handle to cancel it while it rings.
 */
async function inviteOne(srf: SipServer, uri: string, invite: JigasiInvite, register: (pending: PendingInvite) => void): Promise<SipDialog> {
  const { pending, requestSent } = cancellation();
  register(pending);
  const timer = setTimeout(pending.cancel, JIGASI_ANSWER_TIMEOUT_MS);
  return srf
    .createUAC(
      uri,
      {
        localSdp: invite.localSdp,
        headers: headersFor(invite),
        callingNumber: 'dialin',
        callingName: invite.displayName,
      },
      {
        cbRequest: (_error, req) => requestSent(req),
      },
    )
    .finally(() => clearTimeout(timer));
}

/** Jigasi's answer: the dialog, the instance that gave it, and the end of its count in the pool. */
export interface JigasiAnswer {
  dialog: SipDialog;
  uri: string;
  release: () => void;
}

/**
 * Tries the instances in pool order until one answers, for as long as `scope` (a call's, or a
 * shared leg's) lives. `register` always holds the attempt in flight so the scope's end can
 * cancel it. `adopt` takes the answer the moment it arrives; once the scope has ended, a 200 OK
 * that crossed our CANCEL gets its BYE instead, or the room would keep a participant nobody is
 * behind.
 */
export async function inviteJigasi(
  srf: SipServer,
  pool: JigasiPool,
  invite: JigasiInvite,
  scope: CallScope,
  logger: Logger,
  register: (pending: PendingInvite) => void,
  adopt: (answer: JigasiAnswer) => void,
): Promise<JigasiAnswer> {
  const attempts: Array<{ uri: string; outcome: string }> = [];
  for (const uri of pool.order()) {
    const release = pool.hold(uri);
    try {
      const dialog = await scope.own(inviteOne(srf, uri, invite, register), (answered) => adopt({ dialog: answered, uri, release }));
      logger.info({ jigasi: uri }, 'Jigasi answered');
      return { dialog, uri, release };
    } catch (error) {
      release();
      if (scope.cancelledBy !== undefined) throw new CallEnded(scope.cancelledBy);
      const status = sipStatusOf(error);
      const outcome = status === 487 ? 'timeout' : status !== undefined ? String(status) : (error as Error).message;
      attempts.push({ uri, outcome });
      logger.warn({ jigasi: uri, outcome }, 'Jigasi did not answer; trying the next one');
    }
  }
  throw new JigasiUnreachable(attempts);
}
