import type { TrunkConfig } from '../core/config';
import { cancellation, type PendingInvite } from './pending-invite';
import { hostOf, hostPortOf } from './trunk-registration';
import type { SipDialog, SipServer } from './sip';

/**
 * The INVITE of a dial-out: to `number` at the trunk's registrar (through its outbound proxy),
 * from the municipality's number (TRUNK_CALLER_ID) in From and P-Asserted-Identity, with the
 * trunk's credentials for the provider's challenge. Rings at most RING_AT_MOST_MS.
 */

/** Then the INVITE is cancelled: a phone nobody picks up, or a voicemail that never answers. */
export const RING_AT_MOST_MS = 60_000;

export function trunkCallUri(trunk: TrunkConfig, number: string): string {
  const transport = trunk.transport === 'udp' ? '' : `;transport=${trunk.transport}`;
  return `sip:${number}@${hostPortOf(trunk.registrars[0]!)}${transport}`;
}

/**
 * Resolves with the dialog once the callee answers; rejects with the SIP status otherwise (487
 * when cancelled). `register` receives the handle to cancel it while it rings.
 */
export async function callThroughTrunk(
  srf: SipServer,
  trunk: TrunkConfig,
  number: string,
  localSdp: string,
  progress: { onRinging: () => void; register: (pending: PendingInvite) => void },
): Promise<SipDialog> {
  const { pending, requestSent } = cancellation();
  progress.register(pending);
  const timer = setTimeout(pending.cancel, RING_AT_MOST_MS);
  const identity = `<sip:${trunk.callerId}@${hostOf(trunk.registrars[0]!)}>`;
  return srf
    .createUAC(
      trunkCallUri(trunk, number),
      {
        localSdp,
        headers: { From: identity, 'P-Asserted-Identity': identity, Contact: `<sip:${trunk.user}@localhost>` },
        auth: { username: trunk.authUser, password: trunk.password },
        proxy: trunk.outboundProxy,
      },
      {
        cbRequest: (_error, req) => requestSent(req),
        cbProvisional: (res) => {
          if (res.status === 180 || res.status === 183) progress.onRinging();
        },
      },
    )
    .finally(() => clearTimeout(timer));
}
