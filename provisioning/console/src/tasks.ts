import { describeError } from './errors.js';

/**
 * Starts an action from an event handler or a timer. Actions show their own errors next to
 * their form; whatever escapes them still reaches the reader in the page's alert line.
 */
export function start(task: () => Promise<void>): void {
  task().catch((error: unknown) => {
    const alert = document.getElementById('unexpected');
    if (alert) {
      alert.textContent = describeError(error).text;
      alert.hidden = false;
    }
  });
}
