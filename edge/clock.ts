/**
 * Time sources and timers. `monoMs` is CLOCK_MONOTONIC in milliseconds (process.hrtime), which is
 * the same clock in every process on the machine, so the gateway and the gate-controller process
 * can exchange scheduled times directly. `wallMs` is the wall clock (epoch ms), only for records.
 *
 * Timers go through the clock too (the timer seam): the engine runner, drivers, uplink and outbox
 * set and clear their timers here, so a test can run them on a fake clock
 * (test/support/clocks.ts) instead of waiting.
 */
export type TimerHandle = { readonly timer: unknown };

export interface TimerOptions {
  /** the timer alone does not keep the process alive (Node's unref) */
  unref?: boolean;
}

export interface Clock {
  monoMs: () => number;
  wallMs: () => number;
  /** run `fn` once, `ms` milliseconds from now */
  setTimer: (fn: () => void, ms: number, options?: TimerOptions) => TimerHandle;
  /** run `fn` every `ms` milliseconds until cleared */
  setRepeatingTimer: (fn: () => void, ms: number, options?: TimerOptions) => TimerHandle;
  /** cancel a timer; null, undefined and a timer that already ran are ignored */
  clearTimer: (handle: TimerHandle | null | undefined) => void;
}

/** Node's timers behind the Clock seam (timers keep the process alive, as Node's do). */
export const realTimers: Pick<Clock, 'setTimer' | 'setRepeatingTimer' | 'clearTimer'> = {
  setTimer: (fn, ms, options) => {
    const timer = setTimeout(fn, ms);
    if (options?.unref) timer.unref();
    return { timer };
  },
  setRepeatingTimer: (fn, ms, options) => {
    const timer = setInterval(fn, ms);
    if (options?.unref) timer.unref();
    return { timer };
  },
  clearTimer: (handle) => {
    if (handle) clearTimeout(handle.timer as NodeJS.Timeout);
  },
};

export const systemClock: Clock = {
  monoMs: () => Number(process.hrtime.bigint()) / 1e6,
  wallMs: () => Date.now(),
  ...realTimers,
};
