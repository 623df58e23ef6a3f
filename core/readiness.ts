/**
 * Which dependencies are connected, for /readyz. Each part of the process reports its own;
 * a dependency nobody has reported yet counts as down.
 */
export class Readiness {
  private readonly down = new Map<string, string>();
  private readonly instances = new Map<string, Record<string, string>>();

  constructor(dependencies: string[]) {
    for (const name of dependencies) this.down.set(name, 'not connected yet');
  }

  markUp(name: string): void {
    this.down.delete(name);
  }

  markDown(name: string, reason: string): void {
    this.down.set(name, reason);
  }

  private isDraining = false;

  /** The process drains (SIGTERM): it takes no new calls, whatever else is up. */
  startDraining(): void {
    this.isDraining = true;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  /** Dependencies that are down, with the reason last reported. */
  problems(): Record<string, string> {
    return Object.fromEntries(this.down);
  }

  /** The state of each instance of a dependency that has several (Jigasi: URI → up/down). */
  describe(name: string, states: Record<string, string>): void {
    if (Object.keys(states).length === 0) this.instances.delete(name);
    else this.instances.set(name, states);
  }

  details(): Record<string, Record<string, string>> {
    return Object.fromEntries(this.instances);
  }
}
