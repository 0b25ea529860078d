import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Long loops on the event loop in slices: `step()` yields (one setImmediate) once `budgetMs`
 * passed since the last yield, so timers, I/O and the gate controller's heartbeat keep running
 * while a 500,000-entry targeting list is checked, stored and indexed.
 */
export class Slices {
  private since = performance.now();
  yields = 0;

  constructor(private readonly budgetMs = 8) {}

  async step(): Promise<void> {
    if (performance.now() - this.since < this.budgetMs) return;
    this.yields++;
    await nextTurn();
    this.since = performance.now();
  }

  /** fn for every item; the clock is read every 256 items. */
  async forEach<T>(items: readonly T[], fn: (item: T, index: number) => void): Promise<void> {
    for (let i = 0; i < items.length; i++) {
      fn(items[i]!, i);
      if ((i & 255) === 255) await this.step();
    }
  }
}
