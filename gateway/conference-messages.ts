import type { Logger } from 'pino';
import { CallEnded, type CallScope } from './call-scope';
import { LOBBY_ALLOWED, LOBBY_JOINED, LOBBY_LEFT } from './jigasi-info';
import type { PromptId, PromptSet } from './prompts';
import { FreeswitchRefused, type MediaEndpoint, type SipDialog } from './sip';

/**
 * What the gateway says on a conference leg, for a caller's own leg (conference-controls.ts) and
 * for the leg listeners share (shared-listening.ts): a JSON INFO to Jigasi, a prompt mixed into
 * what one caller hears, the lobby's prompts. All run as work of `scope`, whose end stops them.
 */

/** Sends a JSON INFO to Jigasi without waiting for it; a Jigasi gone meanwhile makes it moot. */
export function sendToJigasi(jigasi: SipDialog, scope: CallScope, log: Logger, body: string): void {
  if (!scope.isLive(jigasi)) return;
  scope.run('sending an INFO to Jigasi', async () => {
    try {
      const response = await scope.guard(jigasi.request({ method: 'INFO', headers: { 'Content-Type': 'application/json' }, body }));
      if (response.status >= 300) log.warn({ status: response.status }, 'Jigasi refused an INFO');
    } catch (error) {
      if (error instanceof CallEnded) throw error;
      // Jigasi hung up meanwhile: its BYE ends the conference, the INFO no longer matters.
      if (scope.isLive(jigasi)) log.warn({ err: error }, 'INFO to Jigasi failed');
    }
  });
}

/** A prompt only this caller hears, mixed into the conference audio without leaving the bridge or conference. */
export function playToCaller(caller: MediaEndpoint, scope: CallScope, prompts: PromptSet, log: Logger, id: PromptId): void {
  scope.run('playing an in-conference prompt', async () => {
    try {
      await scope.guard(caller.command('uuid_displace', `${caller.uuid} start ${prompts.file(id)} 0 mux`));
    } catch (error) {
      if (!(error instanceof FreeswitchRefused)) throw error;
      log.warn({ reply: error.reply, prompt: id }, 'FreeSWITCH did not play an in-conference prompt');
    }
  });
}

/**
 * The lobby as callers hear it (Jigasi's lobby notifications): "please wait" when the leg enters
 * it and again every `repeatMs` until a moderator decides, "admitted" when let in.
 */
export class LobbyPrompts {
  private reminder?: NodeJS.Timeout;

  constructor(
    private readonly scope: CallScope,
    private readonly repeatMs: number,
    private readonly announce: (id: PromptId) => void,
  ) {}

  /** Takes the lobby's joined, left and allowed notifications; any other type is not the lobby's. */
  handle(type: number): void {
    switch (type) {
      case LOBBY_JOINED:
        this.announce('lobby-waiting');
        this.stop();
        this.reminder = this.scope.every(this.repeatMs, () => this.announce('lobby-waiting'));
        return;
      case LOBBY_LEFT:
        this.stop();
        return;
      case LOBBY_ALLOWED:
        this.stop();
        this.announce('lobby-admitted');
    }
  }

  stop(): void {
    this.scope.clear(this.reminder);
  }
}
