import type { HangUpReason } from '../../gateway/call-outcome';
import type { RegisteredCall } from '../../gateway/call-registry';
import { maskCallerNumber } from '../../core/privacy';
import type { LiveCallView, MuteOutcome } from '../../provisioning/live-calls';

/** A live call as the registry holds it; records why it was hung up. */
export class RecordingCall implements RegisteredCall {
  readonly hangUps: HangUpReason[] = [];
  /** What the next mute or unmute comes to; a done one shows in the view. */
  muteOutcome: MuteOutcome = 'muted';
  private muted = false;
  constructor(
    readonly id: string,
    private readonly callerNumber: string,
  ) {}
  view(): LiveCallView {
    return { id: this.id, direction: 'in', room: 'rat', pinId: 'pin_x', label: null, role: 'speaker', caller: maskCallerNumber(this.callerNumber), state: 'bridged', muted: this.muted, startedAt: Date.parse('2030-01-01T10:00:00Z') };
  }
  hangUp(reason: HangUpReason): void {
    this.hangUps.push(reason);
  }
  endForMaintenance(): void {
    this.hangUps.push('service-stopping');
  }
  async setMutedByAdmin(muted: boolean): Promise<MuteOutcome> {
    if (this.muteOutcome === 'muted' || this.muteOutcome === 'unmuted') this.muted = muted;
    return Promise.resolve(this.muteOutcome);
  }
}
