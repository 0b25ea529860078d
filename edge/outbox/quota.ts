import type Database from 'better-sqlite3';
import type { Priority } from './priority.js';

/**
 * The disk quota of the outbox, counted in estimated stored bytes (payload + fixed overhead per
 * row; the SQLite file reuses freed pages, so its size follows the peak of this figure).
 * When a commit would exceed the quota, inside the same transaction:
 *   1. delivered rows go first, oldest delivery first (down to 97 % of the quota);
 *   2. then undelivered rows by priority, lowest first, oldest first, just enough to fit:
 *      telemetry (0), operational (1), and only then records (2), which raises an alarm.
 * Counters are persisted in outbox_meta so they survive restarts.
 */

export interface DropRange {
  stream: string;
  fromSeq: number;
  toSeq: number;
  count: number;
}

export interface DropReport {
  deliveredDeleted: number;
  pendingDropped: number;
  byPriority: [number, number, number];
  ranges: DropRange[];
}

export interface DropSummary extends Record<string, unknown> {
  dropped: { telemetry: number; operational: number; records: number };
  ranges: DropRange[];
}

interface Victim {
  pos: number;
  stream: string;
  seq: number;
  bytes: number;
}

const CHUNK = 256;

export class QuotaKeeper {
  bytes: number;
  readonly maxBytes: number;
  readonly dropped: [number, number, number];
  alarms: number;
  private staged = { bytes: 0, dropped: [0, 0, 0] as [number, number, number], alarms: 0 };
  private unannounced: { byPriority: [number, number, number]; ranges: DropRange[] } | null = null;
  private readonly deliveredVictims: Database.Statement<[number], Victim>;
  private readonly pendingVictims: Database.Statement<[number, number], Victim>;
  private readonly deleteRow: Database.Statement<[number]>;
  private readonly expired: Database.Statement<[number, number], Victim>;

  constructor(
    private readonly db: Database.Database,
    init: { maxBytes: number; bytes: number; dropped: number[]; alarms: number },
  ) {
    this.maxBytes = init.maxBytes;
    this.bytes = init.bytes;
    this.dropped = [init.dropped[0] ?? 0, init.dropped[1] ?? 0, init.dropped[2] ?? 0];
    this.alarms = init.alarms;
    this.deliveredVictims = db.prepare<[number], Victim>(
      `SELECT pos, stream, seq, bytes FROM outbox_events WHERE delivered_at IS NOT NULL
       ORDER BY delivered_at LIMIT ?`,
    );
    this.pendingVictims = db.prepare<[number, number], Victim>(
      `SELECT pos, stream, seq, bytes FROM outbox_events WHERE delivered_at IS NULL AND prio = ?
       ORDER BY pos LIMIT ?`,
    );
    this.deleteRow = db.prepare<[number]>('DELETE FROM outbox_events WHERE pos = ?');
    this.expired = db.prepare<[number, number], Victim>(
      `SELECT pos, stream, seq, bytes FROM outbox_events
       WHERE delivered_at IS NOT NULL AND delivered_at < ? LIMIT ?`,
    );
  }

  /** Called inside the append transaction after the new rows are inserted. */
  enforce(newBytes: number, setMeta: (key: string, value: number) => void): DropReport | null {
    this.staged = { bytes: newBytes, dropped: [0, 0, 0], alarms: 0 };
    let total = this.bytes + newBytes;
    if (total <= this.maxBytes) return null;
    const report: DropReport = {
      deliveredDeleted: 0,
      pendingDropped: 0,
      byPriority: [0, 0, 0],
      ranges: [],
    };
    const deliveredTarget = Math.floor(this.maxBytes * 0.97);
    while (total > deliveredTarget) {
      const victims = this.deliveredVictims.all(CHUNK);
      if (victims.length === 0) break;
      for (const v of victims) {
        if (total <= deliveredTarget) break;
        this.deleteRow.run(v.pos);
        total -= v.bytes;
        report.deliveredDeleted++;
      }
    }
    for (const prio of [0, 1, 2] as Priority[]) {
      while (total > this.maxBytes) {
        const victims = this.pendingVictims.all(prio, CHUNK);
        if (victims.length === 0) break;
        for (const v of victims) {
          if (total <= this.maxBytes) break;
          this.deleteRow.run(v.pos);
          total -= v.bytes;
          report.pendingDropped++;
          report.byPriority[prio]++;
          addToRanges(report.ranges, v);
        }
      }
    }
    this.staged.bytes = total - this.bytes;
    this.staged.dropped = report.byPriority;
    this.staged.alarms = report.byPriority[2] > 0 ? 1 : 0;
    if (report.pendingDropped > 0) {
      report.byPriority.forEach((n, p) => {
        if (n > 0) setMeta(`dropped.${p}`, this.dropped[p as Priority] + n);
      });
      if (this.staged.alarms > 0) setMeta('alarms', this.alarms + 1);
    }
    return report;
  }

  commit(): void {
    this.bytes += this.staged.bytes;
    for (const p of [0, 1, 2] as Priority[]) this.dropped[p] += this.staged.dropped[p];
    this.alarms += this.staged.alarms;
    if (this.staged.dropped.some((n) => n > 0)) {
      const u = (this.unannounced ??= { byPriority: [0, 0, 0], ranges: [] });
      for (const p of [0, 1, 2] as Priority[]) u.byPriority[p] += this.staged.dropped[p];
    }
    this.staged = { bytes: 0, dropped: [0, 0, 0], alarms: 0 };
  }

  rollback(): void {
    this.staged = { bytes: 0, dropped: [0, 0, 0], alarms: 0 };
  }

  /** Remember ranges of a committed report for the next announcement. */
  noteRanges(ranges: readonly DropRange[]): void {
    const u = (this.unannounced ??= { byPriority: [0, 0, 0], ranges: [] });
    for (const r of ranges) {
      const last = u.ranges.findLast((x) => x.stream === r.stream);
      if (last && last.toSeq + 1 === r.fromSeq) {
        last.toSeq = r.toSeq;
        last.count += r.count;
      } else if (u.ranges.length < 100) {
        u.ranges.push({ ...r });
      }
    }
  }

  takeUnannounced(): DropSummary | null {
    const u = this.unannounced;
    this.unannounced = null;
    if (!u) return null;
    return {
      dropped: {
        telemetry: u.byPriority[0],
        operational: u.byPriority[1],
        records: u.byPriority[2],
      },
      ranges: u.ranges,
    };
  }

  /** Retention: delete delivered rows older than `cutoffWallMs`, in short transactions. */
  deleteDeliveredBefore(cutoffWallMs: number): number {
    let deleted = 0;
    for (;;) {
      const n = this.db
        .transaction(() => {
          const victims = this.expired.all(cutoffWallMs, 2000);
          for (const v of victims) {
            this.deleteRow.run(v.pos);
            this.bytes -= v.bytes;
          }
          return victims.length;
        })
        .immediate();
      deleted += n;
      if (n < 2000) return deleted;
    }
  }
}

function addToRanges(ranges: DropRange[], v: Victim): void {
  const last = ranges.findLast((r) => r.stream === v.stream);
  if (last && last.toSeq + 1 === v.seq) {
    last.toSeq = v.seq;
    last.count++;
  } else if (ranges.length < 100) {
    ranges.push({ stream: v.stream, fromSeq: v.seq, toSeq: v.seq, count: 1 });
  }
}
