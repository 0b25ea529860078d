import type { EdgeListener, GpioTimers } from './binding.js';

/**
 * Debounce for one input: a raw change starts a candidate with the time of that first
 * transition; if the raw level still differs from the stable level after `debounceMs`, the edge
 * is reported with the candidate's (early) timestamp. A glitch shorter than debounceMs is dropped.
 * debounceMs = 0 reports every change at once.
 */
export class Debouncer {
  private stable: 0 | 1;
  private raw: 0 | 1;
  private candidateMono = 0;
  private timer: unknown = null;

  constructor(
    initial: 0 | 1,
    private readonly debounceMs: number,
    private readonly timers: GpioTimers,
    private readonly onEdge: EdgeListener,
  ) {
    this.stable = initial;
    this.raw = initial;
  }

  get value(): 0 | 1 {
    return this.stable;
  }

  /** A raw level seen at `monoMs` (taken as early as the caller could). */
  sample(value: 0 | 1, monoMs: number): void {
    if (value === this.raw) return;
    this.raw = value;
    if (this.debounceMs <= 0) {
      this.stable = value;
      this.onEdge(value, monoMs);
      return;
    }
    if (value === this.stable) {
      // back to the stable level before the candidate settled: a glitch
      this.cancel();
      return;
    }
    this.candidateMono = monoMs;
    this.cancel();
    const wait = Math.max(0, this.candidateMono + this.debounceMs - this.timers.monoMs());
    this.timer = this.timers.setTimeout(() => this.settle(), wait);
  }

  private settle(): void {
    this.timer = null;
    if (this.raw === this.stable) return;
    this.stable = this.raw;
    this.onEdge(this.stable, this.candidateMono);
  }

  cancel(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
