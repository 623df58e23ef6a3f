/**
 * Counts events per client in fixed windows, e.g. wrong PINs tried on the public reverse
 * lookup. Memory stays bounded: a new window forgets every client of the last one.
 */
export class WindowCounter {
  private counts = new Map<string, number>();
  private windowStart = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  isOverLimit(client: string): boolean {
    this.roll();
    return (this.counts.get(client) ?? 0) >= this.limit;
  }

  count(client: string): void {
    this.roll();
    this.counts.set(client, (this.counts.get(client) ?? 0) + 1);
  }

  private roll(): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.counts = new Map();
      this.windowStart = now;
    }
  }
}
