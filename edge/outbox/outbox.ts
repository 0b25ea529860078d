import { EventSearch, type EventQuery } from './search.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { EdgeError } from '../errors.js';
import type { EdgeEvent, EventDraft, Stream } from '../events/model.js';
import { UuidV7Generator } from '../events/uuidv7.js';
import { OutboxAlarms, type OutboxAlarm } from './alarms.js';
import { AppendQueue, type PendingAppend } from './append-queue.js';
import { OutboxWatch, type OutboxCondition } from './condition.js';
import { DiskGuard, isDiskFull, type StatFs } from './disk-guard.js';
import { DropNotices } from './drops.js';
import { Housekeeping } from './housekeeping.js';
import { DeliveryMarks } from './marks.js';
import { ParkingStore, type UnexplainedParkedRow } from './parking.js';
import { PriorityTable, type Priority } from './priority.js';
import { QuotaKeeper } from './quota.js';
import { RowReader, type StoredRow } from './rows.js';
import { loadCounts, outboxStats, type OutboxCounts, type OutboxStats } from './stats.js';
import { recordSchemaVersion } from '../schema-version.js';
import { openStore } from './store.js';
import { EventWriter } from './writer.js';
import { eventDraft } from '../events/payloads/draft.js';

export type { OutboxAlarm } from './alarms.js';
export type { OutboxCondition, OutboxReason } from './condition.js';
export type { UnexplainedParkedRow } from './parking.js';
export type { StoredRow } from './rows.js';
export type { OutboxStats } from './stats.js';

/**
 * The durable outbox: every event is committed to SQLite (WAL, explicit `synchronous`) before
 * append() resolves, so whatever the engine was told is stored survives kill -9 (and, with FULL,
 * power loss). A row leaves the pending set only when the uplink has its PUBACK; delivered rows
 * are kept `deliveredRetentionS` for replays. Appends are grouped: all drafts appended in one tick
 * are written in one transaction. A disk quota drops delivered rows first, then pending rows by
 * priority (telemetry, operational, records); dropping records raises an alarm. The quota
 * follows the disk, and a write that fails for lack of space is a counted, announced drop, never
 * a silent loss (disk-guard.ts); `condition()` says whether the record is kept and drained.
 *
 * The parts: store.ts (open, schema, migration, recovery of an unusable file), append-queue.ts
 * (grouped commits), writer.ts (seq assignment and the commit transactions), quota.ts (disk
 * quota), disk-guard.ts (the limit from the file system, reserve file, full-disk writes),
 * drops.ts (what follows a drop), marks.ts (deliveries), parking.ts (parked rows), rows.ts
 * (reads), housekeeping.ts (retention, checkpoints), stats.ts (counts), condition.ts, alarms.ts.
 */

export interface OutboxOptions {
  file: string;
  gatewayId: string;
  synchronous: 'FULL' | 'NORMAL';
  batchMaxRows: number;
  maxBytes?: number;
  deliveredRetentionS?: number;
  priorities?: Readonly<Record<string, number>>;
  maintenanceIntervalMs?: number;
  quickCheckOnStart?: boolean;
  /** free space left to the rest of the system (default: 5 % of the file system, <= 256 MiB) */
  diskReserveBytes?: number;
  /** the reserve file released on a full disk (default: 2 % of the file system, 256 KiB to 4 MiB) */
  reserveFileBytes?: number;
  diskCheckIntervalMs?: number;
  /** how long drops keep the condition degraded (default 60 s) */
  degradedHoldMs?: number;
  /** uplink connected, events pending, none delivered this long: stuck (default 30 s) */
  stuckAfterMs?: number;
  /** file-system reading (tests) */
  statfs?: StatFs;
  clock: Clock;
  log: Logger;
}

export class Outbox {
  private readonly db: Database.Database;
  private readonly prio: PriorityTable;
  private readonly quota: QuotaKeeper;
  private readonly queue: AppendQueue;
  private readonly writer: EventWriter;
  private readonly rows: RowReader;
  private readonly counts: OutboxCounts;
  private readonly alarms: OutboxAlarms;
  private readonly drops: DropNotices;
  private readonly housekeeping: Housekeeping;
  private closed = false;
  private readonly recovered: string | null;
  private readonly listeners = new Set<(events: EdgeEvent[]) => void>();
  private readonly marks: DeliveryMarks;
  private readonly guard: DiskGuard;
  private readonly watch: OutboxWatch;
  private readonly log: Logger;
  private readonly parking: ParkingStore;

  constructor(private readonly options: OutboxOptions) {
    this.log = options.log;
    mkdirSync(dirname(options.file), { recursive: true });
    const opened = openStore({
      file: options.file,
      synchronous: options.synchronous,
      quickCheck: options.quickCheckOnStart ?? true,
      wallMs: () => options.clock.wallMs(),
      log: options.log,
    });
    this.db = opened.db;
    this.recovered = opened.recovered ? opened.recovered.movedTo : null;
    this.parking = new ParkingStore(this.db);
    recordSchemaVersion(this.db, 'outbox'); // after the parking columns (schema version 1)
    this.prio = new PriorityTable(options.priorities);
    this.alarms = new OutboxAlarms(this.log);
    const meta = new Map(
      this.db
        .prepare<[], { key: string; value: number }>('SELECT key, value FROM outbox_meta')
        .all()
        .map((r) => [r.key, r.value]),
    );
    const loaded = loadCounts(this.db, this.parking.count());
    this.counts = loaded.counts;
    this.quota = new QuotaKeeper(this.db, {
      maxBytes: options.maxBytes ?? Number.MAX_SAFE_INTEGER,
      bytes: loaded.bytes,
      dropped: [meta.get('dropped.0') ?? 0, meta.get('dropped.1') ?? 0, meta.get('dropped.2') ?? 0],
      alarms: meta.get('alarms') ?? 0,
    });
    this.writer = new EventWriter(this.db, {
      gatewayId: options.gatewayId,
      clock: options.clock,
      ids: new UuidV7Generator(() => options.clock.wallMs()),
      prio: this.prio,
      quota: this.quota,
      meta,
    });
    this.queue = new AppendQueue(options.batchMaxRows, (batch) => this.writeBatch(batch));
    this.watch = new OutboxWatch({
      monoMs: options.clock.monoMs,
      wallMs: options.clock.wallMs,
      holdMs: options.degradedHoldMs,
      stuckAfterMs: options.stuckAfterMs,
    });
    this.rows = new RowReader(this.db, options.gatewayId);
    const closed = (): boolean => this.closed;
    this.drops = new DropNotices({
      clock: options.clock,
      log: this.log,
      quota: this.quota,
      parking: this.parking,
      counts: this.counts,
      alarms: this.alarms,
      append: (drafts) => this.append(drafts),
      dropped: (byPriority) => this.watch.dropped(byPriority),
      closed,
    });
    this.guard = new DiskGuard(this.db, {
      file: options.file,
      quota: this.quota,
      clock: options.clock,
      log: this.log,
      reserveBytes: options.diskReserveBytes,
      reserveFileBytes: options.reserveFileBytes,
      checkIntervalMs: options.diskCheckIntervalMs,
      statfs: options.statfs,
      afterDrops: (report) => this.drops.afterDrops(report),
      onCheck: () => this.condition(),
      closed,
    });
    this.marks = new DeliveryMarks(this.db, {
      synchronous: options.synchronous,
      guard: this.guard,
      wallMs: () => options.clock.wallMs(),
      log: this.log,
    });
    this.housekeeping = new Housekeeping(this.db, {
      clock: options.clock,
      log: this.log,
      quota: this.quota,
      counts: this.counts,
      deliveredRetentionS: options.deliveredRetentionS,
      maintenanceIntervalMs: options.maintenanceIntervalMs,
      closed,
    });
    this.log.info(
      {
        file: options.file,
        synchronous: options.synchronous,
        lastSeq: this.writer.lastSeq.events,
        pending: this.counts.pending,
        delivered: this.counts.delivered,
        bytes: this.quota.bytes,
        migratedRows: opened.migratedRows,
      },
      'outbox open',
    );
    if (opened.recovered) {
      const { reason, movedTo, seqBase } = opened.recovered;
      queueMicrotask(() =>
        this.alarms.raise({
          code: 'EDGE_OUTBOX_CORRUPT',
          message: `outbox database was unusable (${reason}); moved to ${movedTo}`,
          details: { reason, movedTo, seqBase },
        }),
      );
      void this.append([
        eventDraft('outbox.reset', null, options.clock.monoMs(), { reason, movedTo, seqBase }),
      ]).catch(() => undefined);
    }
  }

  /** Append drafts; resolves with the stored events once their transaction has committed. */
  append(drafts: EventDraft[]): Promise<EdgeEvent[]> {
    if (this.closed) {
      return Promise.reject(new EdgeError('EDGE_OUTBOX_CLOSED', 'outbox is closed'));
    }
    if (drafts.length === 0) return Promise.resolve([]);
    return this.queue.push(drafts);
  }

  /** Subscribe to committed events (uplink wake-up, status page, KPIs). */
  onCommitted(listener: (events: EdgeEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Quota drops of records and database recovery raise alarms. */
  onAlarm(listener: (alarm: OutboxAlarm) => void): () => void {
    return this.alarms.on(listener);
  }

  /** Write everything queued now, in batches of at most batchMaxRows rows per transaction. */
  flush(): void {
    this.queue.flush();
  }

  private writeBatch(batch: PendingAppend[]): void {
    let committed: ReturnType<EventWriter['commitBatch']>;
    const groups = batch.map((w) => w.drafts);
    try {
      committed = this.guard.retryOnFull(() => this.writer.commitBatch(groups));
    } catch (err) {
      const full = isDiskFull(err);
      this.watch.commitFailed(full);
      if (full) this.watch.diskFull();
      // never a silent loss: lost events take their seqs and are announced as dropped
      const lost = full ? this.drops.afterLost(this.writer.skip(groups)) : null;
      const error = full
        ? new EdgeError('EDGE_OUTBOX_FULL', 'disk full: events not stored', {
            cause: err,
            details: lost,
          })
        : new EdgeError('EDGE_OUTBOX_WRITE', 'outbox commit failed', { cause: err });
      this.log.error({ err, ranges: lost?.ranges }, error.message);
      for (const w of batch) w.reject(error);
      return;
    }
    this.watch.committed();
    const { results, report } = committed;
    const all = results.flat();
    this.counts.pending += all.length;
    this.counts.appended += all.length;
    this.counts.batches++;
    if (report) this.drops.afterDrops(report);
    batch.forEach((w, i) => w.resolve(results[i] ?? []));
    this.notify(all);
  }

  private notify(events: EdgeEvent[]): void {
    for (const l of this.listeners) {
      try {
        l(events);
      } catch (err) {
        this.log.error({ err }, 'outbox listener threw');
      }
    }
  }

  /** Undelivered events after position `afterPos`, in commit order. */
  pending(afterPos: number, limit: number): StoredRow[] {
    return this.rows.pending(afterPos, limit);
  }

  /** Stored events (delivered or not) of a stream with fromSeq <= seq <= toSeq, for replays. */
  range(stream: Stream, fromSeq: number, toSeq: number, limit: number): StoredRow[] {
    return this.rows.range(stream, fromSeq, toSeq, limit);
  }

  /**
   * Park an undelivered row: it leaves the pending set (never sent live again) but stays on disk
   * with its reason until a replay delivers it or the quota / retention rules remove it.
   */
  park(pos: number, reason: string): boolean {
    if (this.closed) return false;
    const changed = this.parking.park(pos, reason, null);
    this.counts.pending -= changed;
    this.counts.parked += changed;
    return changed > 0;
  }

  /**
   * Park an undelivered event row and store the alarm event explaining its seq gap, in ONE
   * transaction: both or neither (a failure throws EDGE_OUTBOX_WRITE and leaves the row pending).
   * The alarm gets the next seq of its stream exactly as an appended event would, and goes out
   * like any event. Null (nothing stored) when the row is gone, delivered or already parked.
   */
  parkWithAlarm(pos: number, reason: string, alarm: EventDraft): EdgeEvent | null {
    return this.commitAlarm(alarm, (id) => this.parking.park(pos, reason, id), true);
  }

  /**
   * Parked undelivered event rows no alarm names (a file written by the earlier, non-atomic
   * parking, or a crash between its two steps); alarms already stored for them are linked first.
   */
  unexplainedParked(alarmType: string): UnexplainedParkedRow[] {
    if (this.closed) return [];
    return this.parking.unexplained(alarmType);
  }

  /**
   * Store the alarm explaining a parked row that has none, recording its id on the row in the
   * same transaction: at most one alarm per parked row (null: already explained, or not parked).
   */
  explainParked(pos: number, alarm: EventDraft): EdgeEvent | null {
    return this.commitAlarm(alarm, (id) => this.parking.explain(pos, id), false);
  }

  /**
   * Commit one alarm event together with the parking change `mark` makes (given the alarm's id;
   * it returns the rows it changed): both or neither; null when `mark` changed nothing. Listeners
   * hear of the alarm on a microtask, so a caller inside the uplink's pump is not re-entered.
   */
  private commitAlarm(
    alarm: EventDraft,
    mark: (alarmId: string) => number,
    parks: boolean,
  ): EdgeEvent | null {
    if (this.closed) throw new EdgeError('EDGE_OUTBOX_CLOSED', 'outbox is closed');
    let committed: ReturnType<EventWriter['commitAlarm']>;
    try {
      committed = this.guard.retryOnFull(() => this.writer.commitAlarm(alarm, mark));
    } catch (err) {
      this.log.error({ err, type: alarm.type }, 'outbox commit of a parking alarm failed');
      throw new EdgeError('EDGE_OUTBOX_WRITE', 'outbox commit failed', { cause: err });
    }
    if (!committed) return null;
    const { event, report } = committed;
    if (parks) {
      this.counts.pending--;
      this.counts.parked++;
    }
    this.counts.pending++;
    this.counts.appended++;
    this.counts.batches++;
    if (report) this.drops.afterDrops(report);
    queueMicrotask(() => {
      if (!this.closed) this.notify([event]);
    });
    return event;
  }

  /** A parked row was delivered after all (a replay, once the broker's limit allowed it). */
  markParkedDelivered(pos: number): boolean {
    if (this.closed) return false;
    const changed = this.parking.markDelivered(pos, this.options.clock.wallMs());
    this.counts.parked -= changed;
    this.counts.delivered += changed;
    return changed > 0;
  }

  /**
   * Mark events delivered by position (after their PUBACK). Returns how many changed.
   * Committed without fsync (marks.ts): a mark lost to a power cut only means the event is sent
   * again, with the same id; appends stay FULL. A failed mark is retried with the next call.
   */
  markDelivered(positions: readonly number[]): number {
    if (positions.length === 0 || this.closed) return 0;
    let changed: number;
    try {
      changed = this.marks.mark(positions);
    } catch (err) {
      this.watch.marks(0, true);
      throw err;
    }
    this.watch.marks(changed, false);
    this.counts.pending -= changed;
    this.counts.delivered += changed;
    return changed;
  }

  /** Recent events of the given types (for the status page after a restart). */
  recent(types: readonly string[], limit: number): EdgeEvent[] {
    return this.rows.recent(types, limit);
  }

  /** Events by waybill, parcel, type and time, newest first (edge/outbox/search.ts). */
  search(query: EventQuery): { events: EdgeEvent[]; scannedFromPos: number } {
    this.searcher ??= new EventSearch(this.db, this.options.gatewayId);
    return this.searcher.search(query);
  }
  private searcher: EventSearch | null = null;

  /** Retention of delivered rows and a WAL checkpoint; runs on a timer, callable by tests. */
  maintain(): void {
    this.housekeeping.maintain();
  }

  stats(): OutboxStats {
    return outboxStats({
      counts: this.counts,
      quota: this.quota,
      lastSeq: this.writer.lastSeq,
      file: this.options.file,
      recovered: this.recovered,
      disk: this.guard.status(),
      unmarked: this.marks.waitingCount,
    });
  }

  /**
   * Whether the record is kept and drained (condition.ts): `degraded` with the reasons when
   * events are not being recorded, are being dropped, or do not drain while the uplink is
   * connected (that last raises EDGE_OUTBOX_STUCK once). Also evaluated on every disk check.
   */
  condition(): OutboxCondition {
    const c = this.watch.evaluate({
      pending: this.counts.pending,
      reserveReleased: this.guard.reserveReleased,
    });
    if (c.stuckStarted && !this.closed) {
      this.alarms.raise({
        code: 'EDGE_OUTBOX_STUCK',
        message: `outbox not draining: ${this.counts.pending} events pending and none delivered while the uplink is connected`,
        details: { pending: this.counts.pending, unmarked: this.marks.waitingCount },
      });
    }
    return { state: c.state, reasons: c.reasons };
  }

  /** Tell the outbox whether the uplink is connected, for the stuck check of condition(). */
  setDrainProbe(connected: () => boolean): void {
    this.watch.setDrainProbe(connected);
  }

  priorityOf(type: string): Priority {
    return this.prio.of(type);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.drops.announce();
    this.flush();
    this.closed = true;
    this.housekeeping.stop();
    this.guard.stop();
    this.drops.stop();
    this.housekeeping.checkpointOnClose();
    this.db.close();
  }
}
