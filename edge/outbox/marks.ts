import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { DiskGuard } from './disk-guard.js';

/**
 * Marking rows delivered (after their PUBACK). Committed without fsync (synchronous NORMAL for
 * this transaction only): a mark lost to a power cut only means the event is sent again, with
 * the same id. A mark that fails for lack of space makes room (DiskGuard) and runs once more;
 * positions whose mark still failed are kept (up to 1M) and marked with the next call, so a full
 * disk delays the bookkeeping of deliveries but never strands delivered rows as pending.
 */

const MAX_WAITING = 1_000_000;

export class DeliveryMarks {
  private readonly stmt: Database.Statement;
  private readonly tx: Database.Transaction<(list: readonly number[], now: number) => number>;
  private waiting: number[] = [];

  constructor(
    private readonly db: Database.Database,
    private readonly o: {
      synchronous: 'FULL' | 'NORMAL';
      guard: DiskGuard;
      wallMs: () => number;
      log: Logger;
    },
  ) {
    // one statement per run of consecutive positions: the rows of a run are exactly the listed ones
    this.stmt = db.prepare(
      'UPDATE outbox_events SET delivered_at = ? WHERE pos BETWEEN ? AND ? AND delivered_at IS NULL',
    );
    this.tx = db.transaction((list: readonly number[], now: number) => {
      let changed = 0;
      for (const [from, to] of positionRuns(list)) changed += this.stmt.run(now, from, to).changes;
      return changed;
    });
  }

  /** Positions whose mark failed and waits for the next call. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Mark positions (and any still waiting) delivered; returns how many rows changed. Throws when
   * the mark failed (the positions then wait for the next call). */
  mark(positions: readonly number[]): number {
    const list = this.waiting.length > 0 ? [...this.waiting, ...positions] : positions;
    const relax = this.o.synchronous === 'FULL';
    if (relax) this.db.pragma('synchronous = NORMAL');
    try {
      const changed = this.o.guard.retryOnFull(() => this.tx.immediate(list, this.o.wallMs()));
      this.waiting = [];
      return changed;
    } catch (err) {
      this.waiting = list.length > MAX_WAITING ? list.slice(-MAX_WAITING) : [...list];
      throw err;
    } finally {
      if (relax) this.db.pragma('synchronous = FULL');
    }
  }
}

/** Sorted, distinct positions as [from, to] runs of consecutive integers. */
export function positionRuns(positions: readonly number[]): [number, number][] {
  const sorted = Float64Array.from(positions).sort();
  const runs: [number, number][] = [];
  for (const p of sorted) {
    const last = runs[runs.length - 1];
    if (last && p <= last[1] + 1) last[1] = Math.max(last[1], p);
    else runs.push([p, p]);
  }
  return runs;
}
