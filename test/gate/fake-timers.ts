import type { SchedulerTimers } from '../../edge/gate/controller/gate-scheduler.js';

/** Timers on a manual monotonic clock: `advanceTo` runs every due timer in time order. */
export class FakeTimers implements SchedulerTimers {
  now = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void; seq: number }>();

  monoMs = (): number => this.now;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.now + Math.max(0, ms), fn, seq: id });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  spinUntil = (mono: number): void => {
    if (mono > this.now) this.now = mono;
  };

  get pending(): number {
    return this.timers.size;
  }

  advanceTo(t: number): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void; seq: number }] | null = null;
      for (const entry of this.timers) {
        const [, v] = entry;
        if (v.at > t) continue;
        if (!next || v.at < next[1].at || (v.at === next[1].at && v.seq < next[1].seq))
          next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      if (next[1].at > this.now) this.now = next[1].at;
      next[1].fn();
    }
    if (t > this.now) this.now = t;
  }

  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }
}
