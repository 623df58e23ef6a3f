/**
 * Counts events per client in fixed windows, e.g. wrong PINs tried on the public reverse lookup.
 * `take` checks and counts in one synchronous step, before the request awaits anything: requests
 * pipelined on one socket are handled one after another, and each sees the ones before it
 * counted. `refund` gives back what turned out not to count (a PIN that was right, a room that
 * had a PIN already). Memory stays bounded: a new window forgets every client of the last one.
 */
export class WindowLimiter {
  private counts = new Map<string, number>();
  private windowStart = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one event for `client`; false (and nothing counted) when its limit is reached. */
  take(client: string): boolean {
    this.roll();
    const count = this.counts.get(client) ?? 0;
    if (count >= this.limit) return false;
    this.counts.set(client, count + 1);
    return true;
  }

  refund(client: string): void {
    const count = this.counts.get(client);
    if (count !== undefined && count > 0) this.counts.set(client, count - 1);
  }

  private roll(): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.counts = new Map();
      this.windowStart = now;
    }
  }
}
