/**
 * Keys pressed during the conference: "*" followed by one key within a few seconds is a
 * command (*6 mute, *1 help); every other key is ignored.
 */
export type InCallCommand = 'toggle-mute' | 'help';

const COMMANDS: Record<string, InCallCommand> = { '6': 'toggle-mute', '1': 'help' };
const COMMAND_WINDOW_MS = 3_000;

export class InCallKeys {
  private starAt?: number;

  press(key: string, now: number): InCallCommand | undefined {
    if (key === '*') {
      this.starAt = now;
      return undefined;
    }
    const armed = this.starAt !== undefined && now - this.starAt <= COMMAND_WINDOW_MS;
    this.starAt = undefined;
    return armed ? COMMANDS[key] : undefined;
  }
}
