import { realTimers, type Clock, type TimerHandle } from '../../edge/clock.js';
import type { SchedulerTimers } from '../../edge/gate/controller/gate-scheduler.js';

/**
 * Clocks for tests.
 * - FakeClock: monotonic time and every timer on a manual clock; `advanceTo` runs each due timer
 *   in time order (pure logic, the gate scheduler, anything that sets timers through the Clock).
 * - ManualClock: time read from a hand-moved clock, timers real (tests that wait on real I/O
 *   while the code under test reads a controlled time).
 */
export class FakeClock implements Clock, SchedulerTimers {
  now: number;
  private seq = 0;
  private readonly timers = new Map<
    number,
    { at: number; fn: () => void; seq: number; every: number }
  >();

  constructor(
    mono = 0,
    private readonly wallOffset = Date.UTC(2026, 0, 1),
  ) {
    this.now = mono;
  }

  monoMs = (): number => this.now;
  wallMs = (): number => this.wallOffset + this.now;

  setTimer = (fn: () => void, ms: number): TimerHandle => ({ timer: this.add(fn, ms, 0) });
  setRepeatingTimer = (fn: () => void, ms: number): TimerHandle => ({
    timer: this.add(fn, ms, Math.max(1, ms)),
  });
  clearTimer = (handle: TimerHandle | null | undefined): void => {
    if (handle) this.timers.delete(handle.timer as number);
  };

  // the gate scheduler's and GPIO bindings' timer shape
  setTimeout = (fn: () => void, ms: number): unknown => this.add(fn, ms, 0);
  clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  spinUntil = (mono: number): void => {
    if (mono > this.now) this.now = mono;
  };

  get pending(): number {
    return this.timers.size;
  }

  private add(fn: () => void, ms: number, every: number): number {
    const id = ++this.seq;
    this.timers.set(id, { at: this.now + Math.max(0, ms), fn, seq: id, every });
    return id;
  }

  advanceTo(t: number): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void; seq: number; every: number }] | null = null;
      for (const entry of this.timers) {
        const [, v] = entry;
        if (v.at > t) continue;
        if (!next || v.at < next[1].at || (v.at === next[1].at && v.seq < next[1].seq))
          next = entry;
      }
      if (!next) break;
      const [id, timer] = next;
      if (timer.at > this.now) this.now = timer.at;
      if (timer.every > 0) timer.at += timer.every;
      else this.timers.delete(id);
      timer.fn();
    }
    if (t > this.now) this.now = t;
  }

  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  set(ms: number): void {
    this.advanceTo(ms);
  }
}

/** A clock moved by hand for time readings; its timers are Node's. */
export class ManualClock implements Clock {
  constructor(
    private mono = 0,
    private readonly wallOffset = Date.UTC(2026, 0, 1),
  ) {}
  monoMs = (): number => this.mono;
  wallMs = (): number => this.wallOffset + this.mono;
  setTimer = realTimers.setTimer;
  setRepeatingTimer = realTimers.setRepeatingTimer;
  clearTimer = realTimers.clearTimer;
  advance(ms: number): void {
    this.mono += ms;
  }
  set(ms: number): void {
    this.mono = ms;
  }
}
