import type Database from 'better-sqlite3';
import type { Priority } from './priority.js';

/**
 * The disk quota of the outbox, counted in estimated stored bytes (payload + fixed overhead per
 * row; the SQLite file reuses freed pages, so its size follows the peak of this figure).
 * The limit is the smaller of `maxBytes` and what the file system has (set by DiskGuard from
 * statfs: disk-guard.ts). When a commit would exceed it, inside the same transaction:
 *   1. delivered rows go first, oldest delivery first (down to 97 % of the limit);
 *   2. then undelivered rows by priority, lowest first, oldest first, just enough to fit:
 *      telemetry (0), operational (1), and only then records (2), which raises an alarm.
 * When the limit falls below what is stored (the disk filled), `shrink` applies the same order
 * in short transactions. Events that could not be stored at all (the disk was full even after
 * that) are counted as dropped too, with their seq ranges (`noteLost`).
 * Counters are persisted in outbox_meta so they survive restarts.
 */

export interface DropRange {
  stream: string;
  fromSeq: number;
  toSeq: number;
  count: number;
  /** quota: stored, then dropped to keep the limit; disk-full: never stored (write failed) */
  cause: 'quota' | 'disk-full';
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

/** Rows a shrink deletes per transaction: each one's WAL growth stays small on a full disk. */
const SHRINK_ROWS = 50;

interface Victim {
  pos: number;
  stream: string;
  seq: number;
  bytes: number;
}

/** An undelivered row about to be dropped; `announced`: the payload of an `outbox.dropped` row. */
interface PendingVictim extends Victim {
  announced: string | null;
}

const CHUNK = 256;

export class QuotaKeeper {
  bytes: number;
  readonly maxBytes: number;
  /** what the file system allows (null: not known, or not binding) */
  private diskBytes: number | null = null;
  readonly dropped: [number, number, number];
  alarms: number;
  /** counters changed outside a transaction (lost writes): persisted with the next commit */
  private metaDirty = false;
  private staged = this.fresh();
  private unannounced: { byPriority: [number, number, number]; ranges: DropRange[] } | null = null;
  private readonly deliveredVictims: Database.Statement<[number], Victim>;
  private readonly pendingVictims: Database.Statement<[number, number], PendingVictim>;
  private readonly deleteRow: Database.Statement<[number]>;
  private readonly expired: Database.Statement<[number, number], Victim>;
  private readonly upsertMeta: Database.Statement<[string, number]>;

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
    this.pendingVictims = db.prepare<[number, number], PendingVictim>(
      `SELECT pos, stream, seq, bytes,
              CASE WHEN type = 'outbox.dropped' THEN payload END AS announced
       FROM outbox_events WHERE delivered_at IS NULL AND prio = ? ORDER BY pos LIMIT ?`,
    );
    this.deleteRow = db.prepare<[number]>('DELETE FROM outbox_events WHERE pos = ?');
    this.upsertMeta = db.prepare<[string, number]>(
      'INSERT INTO outbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.expired = db.prepare<[number, number], Victim>(
      `SELECT pos, stream, seq, bytes FROM outbox_events
       WHERE delivered_at IS NOT NULL AND delivered_at < ? LIMIT ?`,
    );
  }

  /** The limit in force: the smaller of maxBytes and what the disk allows. */
  get limit(): number {
    return this.diskBytes === null ? this.maxBytes : Math.min(this.maxBytes, this.diskBytes);
  }

  /** Which of the two sets the limit. */
  get limitBy(): 'quota' | 'disk' {
    return this.diskBytes !== null && this.diskBytes < this.maxBytes ? 'disk' : 'quota';
  }

  /** What the file system allows, in the quota's estimated bytes (DiskGuard, from statfs). */
  setDiskLimit(bytes: number | null): void {
    this.diskBytes = bytes === null ? null : Math.max(0, Math.floor(bytes));
  }

  /**
   * Called inside the append transaction after the new rows are inserted. `exemptBytes` of them
   * (drop announcements) do not make room for themselves: an announcement that dropped a row
   * would need another announcement, and so on, once a second, for as long as nothing drains.
   */
  enforce(
    newBytes: number,
    setMeta: (key: string, value: number) => void,
    exemptBytes = 0,
  ): DropReport | null {
    this.staged = { ...this.fresh(), bytes: newBytes };
    if (this.metaDirty) this.writeCounters(setMeta);
    const total = this.bytes + newBytes - exemptBytes;
    if (total <= this.limit) return null;
    return this.dropDownTo(total, this.limit, Number.MAX_SAFE_INTEGER, setMeta);
  }

  /**
   * Delivered rows first (down to 97 % of `limit`), then undelivered ones by priority, until
   * `total` fits `limit` or `maxRows` rows went; stages the result (commit() applies it).
   */
  private dropDownTo(
    start: number,
    limit: number,
    maxRows: number,
    setMeta: (key: string, value: number) => void,
  ): DropReport {
    let total = start;
    let budget = maxRows;
    const report: DropReport = {
      deliveredDeleted: 0,
      pendingDropped: 0,
      byPriority: [0, 0, 0],
      ranges: [],
    };
    const deliveredTarget = Math.floor(limit * 0.97);
    while (total > deliveredTarget && budget > 0) {
      const victims = this.deliveredVictims.all(Math.min(CHUNK, budget));
      if (victims.length === 0) break;
      for (const v of victims) {
        if (total <= deliveredTarget) break;
        this.deleteRow.run(v.pos);
        total -= v.bytes;
        budget--;
        report.deliveredDeleted++;
      }
    }
    for (const prio of [0, 1, 2] as Priority[]) {
      while (total > limit && budget > 0) {
        const victims = this.pendingVictims.all(prio, Math.min(CHUNK, budget));
        if (victims.length === 0) break;
        for (const v of victims) {
          if (total <= limit) break;
          this.deleteRow.run(v.pos);
          total -= v.bytes;
          budget--;
          report.pendingDropped++;
          report.byPriority[prio]++;
          addToRanges(report.ranges, v, 'quota');
          // an announcement that never went out: its ranges are announced again
          if (v.announced !== null) {
            for (const r of announcedRanges(v.announced)) mergeRange(report.ranges, r);
          }
        }
      }
    }
    this.staged.bytes += total - start;
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

  /**
   * The limit fell below what is stored (the disk filled): delete and drop in the quota's order,
   * in short transactions, until the stored bytes fit (or, with `enough`, until it says so: the
   * disk guard wants free pages, which rows dropped here and there in the file do not give);
   * `between` runs after each (a checkpoint, so the WAL is reused instead of grown). Returns one
   * report per transaction (the caller handles them as it handles a commit's drops). A failing
   * transaction throws; what the earlier ones did stays committed.
   */
  shrink(between: () => void = () => undefined, enough?: () => boolean): DropReport[] {
    const setMeta = (key: string, value: number): void => void this.upsertMeta.run(key, value);
    const reports: DropReport[] = [];
    while (enough ? !enough() : this.bytes > this.limit) {
      let report: DropReport | null = null;
      try {
        this.db
          .transaction(() => {
            this.staged = this.fresh();
            if (this.metaDirty) this.writeCounters(setMeta);
            report = this.dropDownTo(this.bytes, enough ? 0 : this.limit, SHRINK_ROWS, setMeta);
          })
          .immediate();
      } catch (err) {
        this.rollback();
        throw err;
      }
      this.commit();
      const r = report as DropReport | null;
      if (!r || r.deliveredDeleted + r.pendingDropped === 0) break;
      reports.push(r);
      between();
    }
    return reports;
  }

  /**
   * Events that could not be stored (the disk was full even after making room): counted as
   * dropped with their seq ranges, alarmed like dropped records; persisted with the next commit.
   */
  noteLost(byPriority: readonly number[], ranges: readonly DropRange[]): void {
    for (const p of [0, 1, 2] as Priority[]) this.dropped[p] += byPriority[p] ?? 0;
    if ((byPriority[2] ?? 0) > 0) this.alarms++;
    this.metaDirty = true;
    const u = (this.unannounced ??= { byPriority: [0, 0, 0], ranges: [] });
    for (const p of [0, 1, 2] as Priority[]) u.byPriority[p] += byPriority[p] ?? 0;
    this.noteRanges(ranges);
  }

  private writeCounters(setMeta: (key: string, value: number) => void): void {
    this.dropped.forEach((n, p) => setMeta(`dropped.${p}`, n));
    setMeta('alarms', this.alarms);
    this.staged.countersWritten = true;
  }

  private fresh(): {
    bytes: number;
    dropped: [number, number, number];
    alarms: number;
    countersWritten: boolean;
  } {
    return { bytes: 0, dropped: [0, 0, 0], alarms: 0, countersWritten: false };
  }

  commit(): void {
    this.bytes += this.staged.bytes;
    for (const p of [0, 1, 2] as Priority[]) this.dropped[p] += this.staged.dropped[p];
    this.alarms += this.staged.alarms;
    if (this.staged.countersWritten) this.metaDirty = false;
    if (this.staged.dropped.some((n) => n > 0)) {
      const u = (this.unannounced ??= { byPriority: [0, 0, 0], ranges: [] });
      for (const p of [0, 1, 2] as Priority[]) u.byPriority[p] += this.staged.dropped[p];
    }
    this.staged = this.fresh();
  }

  rollback(): void {
    this.staged = this.fresh();
  }

  /** Remember ranges of a committed report for the next announcement. */
  noteRanges(ranges: readonly DropRange[]): void {
    const u = (this.unannounced ??= { byPriority: [0, 0, 0], ranges: [] });
    for (const r of ranges) mergeRange(u.ranges, r);
  }

  /** An announcement that could not be recorded: its drops are announced with the next one. */
  requeue(summary: DropSummary): void {
    const u = (this.unannounced ??= { byPriority: [0, 0, 0], ranges: [] });
    u.byPriority[0] += summary.dropped.telemetry;
    u.byPriority[1] += summary.dropped.operational;
    u.byPriority[2] += summary.dropped.records;
    const later = u.ranges;
    u.ranges = [];
    this.noteRanges(summary.ranges);
    this.noteRanges(later);
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

export function addToRanges(
  ranges: DropRange[],
  v: { stream: string; seq: number },
  cause: DropRange['cause'],
): void {
  mergeRange(ranges, { stream: v.stream, fromSeq: v.seq, toSeq: v.seq, count: 1, cause });
}

/** The ranges of a stored `outbox.dropped` payload (none if it cannot be read). */
function announcedRanges(payload: string): DropRange[] {
  try {
    const ranges = (JSON.parse(payload) as { ranges?: unknown }).ranges;
    if (!Array.isArray(ranges)) return [];
    return ranges.filter(
      (r): r is DropRange =>
        typeof r === 'object' &&
        r !== null &&
        typeof (r as DropRange).stream === 'string' &&
        Number.isInteger((r as DropRange).fromSeq) &&
        Number.isInteger((r as DropRange).toSeq),
    );
  } catch {
    return [];
  }
}

/** Ranges listed per report / announcement; beyond it ranges are widened, never left out. */
const MAX_RANGES = 100;

/**
 * Add a range: joined to the stream's last range when they touch; a new one while fewer than
 * MAX_RANGES are listed; otherwise the stream's last range is widened to cover it (it then also
 * spans seqs that were not dropped, and `count` still says how many were): every dropped seq is
 * always inside an announced range.
 */
function mergeRange(ranges: DropRange[], r: DropRange): void {
  const last = ranges.findLast((x) => x.stream === r.stream);
  if (last && last.toSeq + 1 === r.fromSeq && last.cause === r.cause) {
    last.toSeq = r.toSeq;
    last.count += r.count;
  } else if (ranges.length < MAX_RANGES || !last) {
    ranges.push({ ...r });
  } else {
    last.fromSeq = Math.min(last.fromSeq, r.fromSeq);
    last.toSeq = Math.max(last.toSeq, r.toSeq);
    last.count += r.count;
  }
}
