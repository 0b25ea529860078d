/**
 * Log rate limit per message key, so that no fault can flood the disk (an SD card, journald) with
 * log lines. A key is the level, the child logger's bindings (module, driver...) and the message
 * text (the template, not its interpolated values). Per key:
 *   - the first `burst` lines are written as usual;
 *   - after that the key is summarised: its lines are counted, not written, and one line per
 *     `intervalMs` says how many were suppressed (`logSuppressed`);
 *   - a key quiet for a whole interval starts over (its next `burst` lines are written again).
 * A flood of one message therefore writes at most `burst` + 1 lines per interval. At most
 * `maxKeys` keys are followed; beyond that, new keys share one overflow key. `fatal` is never
 * limited. The limiter is pure (time injected); `createRootLogger` (log.ts) installs it as a
 * pino `logMethod` hook, so every child logger a module receives is limited too.
 */

export interface LogLimitSettings {
  /** lines written per key before it is summarised */
  burst: number;
  /** one summary line per key per interval while it repeats; a key quiet this long starts over */
  intervalMs: number;
  /** keys followed at once (a bound on memory) */
  maxKeys: number;
}

export const DEFAULT_LOG_LIMIT: LogLimitSettings = { burst: 20, intervalMs: 60_000, maxKeys: 1000 };

/** A summary due for a key: `suppressed` lines were counted and not written since the last one. */
export interface LogSummary<T> {
  key: string;
  suppressed: number;
  /** what the caller attached to the key's latest line (its logger, level and message) */
  sink: T;
}

interface KeyState<T> {
  written: number;
  suppressed: number;
  /** summarising: suppressed lines are reported at summaryDue */
  summaryDue: number | null;
  lastSeen: number;
  sink: T;
}

export const OVERFLOW_KEY = '(other messages: too many distinct log keys)';

export class LogRateLimiter<T> {
  private readonly keys = new Map<string, KeyState<T>>();
  /** lines suppressed since the limiter was created */
  suppressedTotal = 0;
  private lastFullSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly settings: LogLimitSettings,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /**
   * One line with this key: whether to write it, and a summary of the key's suppressed lines to
   * write first when one is due.
   */
  admit(key: string, sink: T): { write: boolean; summary: LogSummary<T> | null } {
    const now = this.now();
    let k = key;
    let st = this.keys.get(k);
    if (!st && this.keys.size >= this.settings.maxKeys) {
      // forget quiet keys first (at most once a second: a sweep walks every key)
      if (now - this.lastFullSweep >= 1000) {
        this.lastFullSweep = now;
        this.sweep(now);
      }
      if (this.keys.size >= this.settings.maxKeys) {
        k = OVERFLOW_KEY;
        st = this.keys.get(k);
      }
    }
    let summary: LogSummary<T> | null = null;
    if (st && now - st.lastSeen >= this.settings.intervalMs) {
      // quiet for a whole interval: report what is left, then start over
      if (st.suppressed > 0) summary = { key: k, suppressed: st.suppressed, sink: st.sink };
      st = undefined;
    }
    if (!st) {
      st = { written: 0, suppressed: 0, summaryDue: null, lastSeen: now, sink };
      this.keys.set(k, st);
    }
    st.lastSeen = now;
    st.sink = sink;
    if (st.summaryDue === null && st.written < this.settings.burst) {
      st.written++;
      return { write: true, summary };
    }
    st.suppressed++;
    this.suppressedTotal++;
    if (st.summaryDue === null) st.summaryDue = now + this.settings.intervalMs;
    else if (now >= st.summaryDue && !summary) {
      summary = { key: k, suppressed: st.suppressed, sink: st.sink };
      st.suppressed = 0;
      st.summaryDue = now + this.settings.intervalMs;
    }
    return { write: false, summary };
  }

  /**
   * Summaries due now (called on a timer, so a flood that stopped is still reported) and keys
   * quiet for an interval forgotten.
   */
  sweep(now = this.now()): LogSummary<T>[] {
    const due: LogSummary<T>[] = [];
    for (const [key, st] of this.keys) {
      const quiet = now - st.lastSeen >= this.settings.intervalMs;
      if (st.suppressed > 0 && (quiet || (st.summaryDue !== null && now >= st.summaryDue))) {
        due.push({ key, suppressed: st.suppressed, sink: st.sink });
        st.suppressed = 0;
        st.summaryDue = now + this.settings.intervalMs;
      }
      if (quiet && st.suppressed === 0) this.keys.delete(key);
    }
    return due;
  }
}
