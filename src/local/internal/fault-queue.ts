/**
 * Faults a test server injects, in the order they were given: a request gets the first one that matches it and is not
 * used up yet. The job-API emulator and the S3 fault proxy match on different things; the queue is the same.
 */
export class FaultQueue<F extends { readonly times?: number }> {
  private readonly slots: Array<{ readonly fault: F; remaining: number }> = [];
  private taken = 0;

  /** Adds faults; each applies `times` times (default 1; `Infinity` never runs out). */
  add(faults: readonly F[]): void {
    for (const fault of faults) this.slots.push({ fault, remaining: fault.times ?? 1 });
  }

  /** Forgets the faults not used up yet. */
  clear(): void {
    this.slots.length = 0;
  }

  /** How many faults were injected so far. */
  get injected(): number {
    return this.taken;
  }

  /** Faults not used up yet (one that never runs out counts once). */
  get pending(): number {
    return this.slots.reduce((sum, slot) => sum + (Number.isFinite(slot.remaining) ? slot.remaining : 1), 0);
  }

  /** The first fault that `matches` and is not used up; taking it uses up one of its times. */
  take(matches: (fault: F) => boolean): F | undefined {
    const index = this.slots.findIndex((slot) => slot.remaining > 0 && matches(slot.fault));
    if (index < 0) return undefined;
    const slot = this.slots[index];
    slot.remaining--;
    if (slot.remaining <= 0) this.slots.splice(index, 1);
    this.taken++;
    return slot.fault;
  }
}
