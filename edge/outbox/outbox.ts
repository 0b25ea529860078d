import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { EdgeError } from '../errors.js';
import {
  EVENT_SCHEMA_VERSION,
  STREAMS,
  streamOf,
  type EdgeEvent,
  type EventDraft,
  type Stream,
} from '../events/model.js';
import { UuidV7Generator } from '../events/uuidv7.js';
import { PriorityTable, type Priority } from './priority.js';
import { QuotaKeeper, type DropReport } from './quota.js';
import { ParkingStore, type UnexplainedParkedRow } from './parking.js';
import { openStore, ROW_OVERHEAD_BYTES } from './store.js';

export type { UnexplainedParkedRow } from './parking.js';

/**
 * The durable outbox: every event is committed to SQLite (WAL, explicit `synchronous`) before
 * append() resolves, so whatever the engine was told is stored survives kill -9 (and, with FULL,
 * power loss). A row leaves the pending set only when the uplink has its PUBACK; delivered rows
 * are kept `deliveredRetentionS` for replays. Appends are grouped: all drafts appended in one tick
 * are written in one transaction. A disk quota drops delivered rows first, then pending rows by
 * priority (telemetry, operational, records); dropping records raises an alarm.
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
  clock: Clock;
  log: Logger;
}

export interface OutboxStats {
  pending: number;
  delivered: number;
  /** rows dropped by the quota, by priority, since the database was created */
  dropped: { telemetry: number; operational: number; records: number };
  /** times the quota had to drop records (each also raised an alarm) */
  alarms: number;
  /** last seq of the events stream */
  lastSeq: number;
  lastTelemetrySeq: number;
  appended: number;
  batches: number;
  bytes: number;
  maxBytes: number;
  fileBytes: number;
  walBytes: number;
  retentionDeleted: number;
  checkpoints: number;
  recovered: string | null;
  /** undelivered rows the uplink parked (never sent: too large for the broker), not in `pending` */
  parked: number;
}

export interface OutboxAlarm {
  code: 'EDGE_OUTBOX_QUOTA' | 'EDGE_OUTBOX_CORRUPT';
  message: string;
  details: Record<string, unknown>;
}

/**
 * A stored event with its position in the outbox (commit order across streams) and its payload
 * as stored JSON text, so the uplink need not parse and re-serialize it.
 */
export interface StoredRow {
  pos: number;
  stream: Stream;
  seq: number;
  id: string;
  type: string;
  parcelId: string | null;
  monoMs: number;
  time: string;
  payloadJson: string;
  /** parked by the uplink (not sent live; a replay may still send it) */
  parked: boolean;
}

interface Row {
  pos: number;
  stream: string;
  seq: number;
  id: string;
  type: string;
  parcel_id: string | null;
  mono_ms: number;
  wall_ms: number;
  payload: string;
  parked: string | null;
}

interface Waiter {
  drafts: EventDraft[];
  resolve: (events: EdgeEvent[]) => void;
  reject: (err: unknown) => void;
}

const COLUMNS = 'pos, stream, seq, id, type, parcel_id, mono_ms, wall_ms, payload, parked';

export class Outbox {
  private readonly db: Database.Database;
  private readonly ids: UuidV7Generator;
  private readonly prio: PriorityTable;
  private readonly quota: QuotaKeeper;
  private readonly queue: Waiter[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly lastSeq: Record<Stream, number> = { events: 0, telemetry: 0 };
  private pendingCount: number;
  private deliveredCount: number;
  private parkedCount: number;
  private appended = 0;
  private batches = 0;
  private retentionDeleted = 0;
  private checkpoints = 0;
  private readonly recovered: string | null;
  private readonly listeners = new Set<(events: EdgeEvent[]) => void>();
  private readonly alarmListeners = new Set<(alarm: OutboxAlarm) => void>();
  private readonly insert: Database.Statement;
  private readonly setMeta: Database.Statement;
  private readonly markStmt: Database.Statement;
  private readonly markTx: Database.Transaction<(list: readonly number[], now: number) => number>;
  private readonly pendingStmt: Database.Statement<[number, number], Row>;
  private readonly rangeStmt: Database.Statement<[string, number, number, number], Row>;
  private readonly maintenanceTimer: NodeJS.Timeout | null = null;
  private reportTimer: NodeJS.Timeout | null = null;
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
    this.ids = new UuidV7Generator(() => options.clock.wallMs());
    this.prio = new PriorityTable(options.priorities);
    const meta = new Map(
      this.db
        .prepare<[], { key: string; value: number }>('SELECT key, value FROM outbox_meta')
        .all()
        .map((r) => [r.key, r.value]),
    );
    for (const s of STREAMS) {
      const max = this.db
        .prepare<[string], { seq: number | null }>(
          'SELECT max(seq) AS seq FROM outbox_events WHERE stream = ?',
        )
        .get(s);
      this.lastSeq[s] = Math.max(meta.get(`seq.${s}`) ?? 0, max?.seq ?? 0);
    }
    const counts = this.db
      .prepare<[], { pending: number; delivered: number; bytes: number | null }>(
        `SELECT sum(delivered_at IS NULL) AS pending, sum(delivered_at IS NOT NULL) AS delivered,
                sum(bytes) AS bytes FROM outbox_events`,
      )
      .get();
    this.parkedCount = this.parking.count();
    this.pendingCount = (counts?.pending ?? 0) - this.parkedCount;
    this.deliveredCount = counts?.delivered ?? 0;
    this.quota = new QuotaKeeper(this.db, {
      maxBytes: options.maxBytes ?? Number.MAX_SAFE_INTEGER,
      bytes: counts?.bytes ?? 0,
      dropped: [meta.get('dropped.0') ?? 0, meta.get('dropped.1') ?? 0, meta.get('dropped.2') ?? 0],
      alarms: meta.get('alarms') ?? 0,
    });
    this.insert = this.db.prepare(
      `INSERT INTO outbox_events (stream, seq, id, type, parcel_id, mono_ms, wall_ms, payload, prio, bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.setMeta = this.db.prepare(
      'INSERT INTO outbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
    this.markStmt = this.db.prepare(
      'UPDATE outbox_events SET delivered_at = ? WHERE pos = ? AND delivered_at IS NULL',
    );
    this.markTx = this.db.transaction((list: readonly number[], now: number) => {
      let changed = 0;
      for (const p of list) changed += this.markStmt.run(now, p).changes;
      return changed;
    });
    this.pendingStmt = this.db.prepare<[number, number], Row>(
      `SELECT ${COLUMNS} FROM outbox_events
       WHERE delivered_at IS NULL AND parked IS NULL AND pos > ? ORDER BY pos LIMIT ?`,
    );
    this.rangeStmt = this.db.prepare<[string, number, number, number], Row>(
      `SELECT ${COLUMNS} FROM outbox_events WHERE stream = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`,
    );
    const interval = options.maintenanceIntervalMs ?? 30_000;
    this.maintenanceTimer = setInterval(() => this.maintain(), interval);
    this.maintenanceTimer.unref();
    this.log.info(
      {
        file: options.file,
        synchronous: options.synchronous,
        lastSeq: this.lastSeq.events,
        pending: this.pendingCount,
        delivered: this.deliveredCount,
        bytes: this.quota.bytes,
        migratedRows: opened.migratedRows,
      },
      'outbox open',
    );
    if (opened.recovered) {
      const { reason, movedTo, seqBase } = opened.recovered;
      queueMicrotask(() =>
        this.raise({
          code: 'EDGE_OUTBOX_CORRUPT',
          message: `outbox database was unusable (${reason}); moved to ${movedTo}`,
          details: { reason, movedTo, seqBase },
        }),
      );
      void this.append([
        {
          type: 'outbox.reset',
          parcelId: null,
          atMono: options.clock.monoMs(),
          payload: { reason, movedTo, seqBase },
        },
      ]).catch(() => undefined);
    }
  }

  /** Append drafts; resolves with the stored events once their transaction has committed. */
  append(drafts: EventDraft[]): Promise<EdgeEvent[]> {
    if (this.closed) {
      return Promise.reject(new EdgeError('EDGE_OUTBOX_CLOSED', 'outbox is closed'));
    }
    if (drafts.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ drafts, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Subscribe to committed events (uplink wake-up, status page, KPIs). */
  onCommitted(listener: (events: EdgeEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Quota drops of records and database recovery raise alarms. */
  onAlarm(listener: (alarm: OutboxAlarm) => void): () => void {
    this.alarmListeners.add(listener);
    return () => this.alarmListeners.delete(listener);
  }

  /** Write everything queued now, in batches of at most batchMaxRows rows per transaction. */
  flush(): void {
    this.flushScheduled = false;
    while (this.queue.length > 0) {
      const waiters: Waiter[] = [];
      let rows = 0;
      while (
        this.queue.length > 0 &&
        (rows === 0 || rows + this.queue[0]!.drafts.length <= this.options.batchMaxRows)
      ) {
        const w = this.queue.shift()!;
        waiters.push(w);
        rows += w.drafts.length;
      }
      this.writeBatch(waiters);
    }
  }

  private writeBatch(waiters: Waiter[]): void {
    const nowWall = this.options.clock.wallMs();
    const nowMono = this.options.clock.monoMs();
    const results: EdgeEvent[][] = [];
    const seqs = { ...this.lastSeq };
    let report: DropReport | null = null;
    let newBytes = 0;
    try {
      const tx = this.db.transaction(() => {
        const touched = new Set<Stream>();
        for (const w of waiters) {
          const stored: EdgeEvent[] = [];
          for (const d of w.drafts) {
            const { event, bytes } = this.insertDraft(d, this.ids.next(), seqs, nowWall, nowMono);
            touched.add(event.stream);
            newBytes += bytes;
            stored.push(event);
          }
          results.push(stored);
        }
        for (const s of touched) this.setMeta.run(`seq.${s}`, seqs[s]);
        report = this.quota.enforce(newBytes, (key, value) => this.setMeta.run(key, value));
      });
      tx.immediate();
    } catch (err) {
      this.quota.rollback();
      const error = new EdgeError('EDGE_OUTBOX_WRITE', 'outbox commit failed', { cause: err });
      this.log.error({ err }, 'outbox commit failed');
      for (const w of waiters) w.reject(error);
      return;
    }
    this.quota.commit();
    Object.assign(this.lastSeq, seqs);
    const all = results.flat();
    this.pendingCount += all.length;
    this.appended += all.length;
    this.batches++;
    if (report) this.afterDrops(report);
    waiters.forEach((w, i) => w.resolve(results[i] ?? []));
    this.notify(all);
  }

  /**
   * Insert one draft as the next event of its stream (inside a transaction): the one place an
   * event gets its seq (from `seqs`, the caller's copy of lastSeq, committed with it), its wall
   * time and its stored form.
   */
  private insertDraft(
    d: EventDraft,
    id: string,
    seqs: Record<Stream, number>,
    nowWall: number,
    nowMono: number,
  ): { event: EdgeEvent & { stream: Stream }; bytes: number } {
    const stream = streamOf(d.type);
    const seq = ++seqs[stream];
    const wall = Math.round(nowWall - (nowMono - d.atMono));
    const payload = JSON.stringify(d.payload);
    const bytes = payload.length + d.type.length + ROW_OVERHEAD_BYTES;
    this.insert.run(
      stream,
      seq,
      id,
      d.type,
      d.parcelId,
      d.atMono,
      wall,
      payload,
      this.prio.of(d.type),
      bytes,
    );
    const event: EdgeEvent & { stream: Stream } = {
      schema: EVENT_SCHEMA_VERSION,
      id,
      seq,
      stream,
      gatewayId: this.options.gatewayId,
      type: d.type,
      parcelId: d.parcelId,
      monoMs: d.atMono,
      time: new Date(wall).toISOString(),
      payload: d.payload,
    };
    return { event, bytes };
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

  private afterDrops(report: DropReport): void {
    // the quota may also drop parked rows (undelivered): keep the two counts apart
    const parkedBefore = this.parkedCount;
    if (parkedBefore > 0 && report.pendingDropped > 0) this.parkedCount = this.parking.count();
    this.pendingCount -= report.pendingDropped - (parkedBefore - this.parkedCount);
    this.deliveredCount -= report.deliveredDeleted;
    if (report.pendingDropped === 0) return;
    this.quota.noteRanges(report.ranges);
    this.log.warn(
      { dropped: report.byPriority, bytes: this.quota.bytes, maxBytes: this.quota.maxBytes },
      'outbox quota reached: pending events dropped',
    );
    if (report.byPriority[2] > 0) {
      this.raise({
        code: 'EDGE_OUTBOX_QUOTA',
        message: `outbox quota reached: ${report.byPriority[2]} undelivered records dropped`,
        details: { dropped: report.byPriority, ranges: report.ranges },
      });
    }
    // announce drops on the events stream at most once a second, so the platform can tell a
    // quota gap from a transport gap
    if (!this.reportTimer && !this.closed) {
      this.reportTimer = setTimeout(() => {
        this.reportTimer = null;
        this.announceDrops();
      }, 1000);
      this.reportTimer.unref();
    }
  }

  private announceDrops(): void {
    const summary = this.quota.takeUnannounced();
    if (!summary || this.closed) return;
    this.append([
      {
        type: 'outbox.dropped',
        parcelId: null,
        atMono: this.options.clock.monoMs(),
        payload: summary,
      },
    ]).catch((err: unknown) => this.log.error({ err }, 'drop announcement not recorded'));
  }

  private raise(alarm: OutboxAlarm): void {
    this.log.error({ code: alarm.code, details: alarm.details }, alarm.message);
    for (const l of this.alarmListeners) {
      try {
        l(alarm);
      } catch (err) {
        this.log.error({ err }, 'alarm listener threw');
      }
    }
  }

  /** Undelivered events after position `afterPos`, in commit order. */
  pending(afterPos: number, limit: number): StoredRow[] {
    return this.pendingStmt.all(afterPos, limit).map(toStoredRow);
  }

  /** Stored events (delivered or not) of a stream with fromSeq <= seq <= toSeq, for replays. */
  range(stream: Stream, fromSeq: number, toSeq: number, limit: number): StoredRow[] {
    return this.rangeStmt.all(stream, fromSeq, toSeq, limit).map(toStoredRow);
  }

  /**
   * Park an undelivered row: it leaves the pending set (never sent live again) but stays on disk
   * with its reason until a replay delivers it or the quota / retention rules remove it.
   */
  park(pos: number, reason: string): boolean {
    if (this.closed) return false;
    const changed = this.parking.park(pos, reason, null);
    this.pendingCount -= changed;
    this.parkedCount += changed;
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
    const nowWall = this.options.clock.wallMs();
    const nowMono = this.options.clock.monoMs();
    const seqs = { ...this.lastSeq };
    let event: EdgeEvent | null = null;
    let report: DropReport | null = null;
    try {
      const tx = this.db.transaction(() => {
        const id = this.ids.next();
        if (mark(id) === 0) return;
        const stored = this.insertDraft(alarm, id, seqs, nowWall, nowMono);
        this.setMeta.run(`seq.${stored.event.stream}`, seqs[stored.event.stream]);
        report = this.quota.enforce(stored.bytes, (key, value) => this.setMeta.run(key, value));
        event = stored.event;
      });
      tx.immediate();
    } catch (err) {
      this.quota.rollback();
      this.log.error({ err, type: alarm.type }, 'outbox commit of a parking alarm failed');
      throw new EdgeError('EDGE_OUTBOX_WRITE', 'outbox commit failed', { cause: err });
    }
    const committed = event as EdgeEvent | null;
    if (!committed) return null;
    this.quota.commit();
    Object.assign(this.lastSeq, seqs);
    if (parks) {
      this.pendingCount--;
      this.parkedCount++;
    }
    this.pendingCount++;
    this.appended++;
    this.batches++;
    if (report) this.afterDrops(report);
    queueMicrotask(() => {
      if (!this.closed) this.notify([committed]);
    });
    return committed;
  }

  /** A parked row was delivered after all (a replay, once the broker's limit allowed it). */
  markParkedDelivered(pos: number): boolean {
    if (this.closed) return false;
    const changed = this.parking.markDelivered(pos, this.options.clock.wallMs());
    this.parkedCount -= changed;
    this.deliveredCount += changed;
    return changed > 0;
  }

  /**
   * Mark events delivered by position (after their PUBACK). Returns how many changed.
   * Committed without fsync (synchronous NORMAL for this transaction only): a mark lost to a
   * power cut only means the event is sent again, with the same id; appends stay FULL.
   */
  markDelivered(positions: readonly number[]): number {
    if (positions.length === 0 || this.closed) return 0;
    const relax = this.options.synchronous === 'FULL';
    if (relax) this.db.pragma('synchronous = NORMAL');
    let changed: number;
    try {
      changed = this.markTx.immediate(positions, this.options.clock.wallMs());
    } finally {
      if (relax) this.db.pragma('synchronous = FULL');
    }
    this.pendingCount -= changed;
    this.deliveredCount += changed;
    return changed;
  }

  /** Recent events of the given types (for the status page after a restart). */
  recent(types: readonly string[], limit: number): EdgeEvent[] {
    const placeholders = types.map(() => '?').join(',');
    const rows = this.db
      .prepare<unknown[], Row>(
        `SELECT ${COLUMNS} FROM outbox_events WHERE type IN (${placeholders}) ORDER BY pos DESC LIMIT ?`,
      )
      .all(...types, limit);
    return rows.reverse().map((r) => this.toEvent(r));
  }

  /** Retention of delivered rows and a WAL checkpoint; runs on a timer, callable by tests. */
  maintain(): void {
    if (this.closed) return;
    try {
      const cutoff =
        this.options.clock.wallMs() - (this.options.deliveredRetentionS ?? 3 * 86400) * 1000;
      const deleted = this.quota.deleteDeliveredBefore(cutoff);
      this.retentionDeleted += deleted;
      this.deliveredCount -= deleted;
      this.db.pragma(
        this.pendingCount === 0 ? 'wal_checkpoint(TRUNCATE)' : 'wal_checkpoint(PASSIVE)',
      );
      this.checkpoints++;
    } catch (err) {
      this.log.warn({ err }, 'outbox maintenance failed');
    }
  }

  stats(): OutboxStats {
    const dropped = this.quota.dropped;
    return {
      pending: this.pendingCount,
      delivered: this.deliveredCount,
      dropped: { telemetry: dropped[0], operational: dropped[1], records: dropped[2] },
      alarms: this.quota.alarms,
      lastSeq: this.lastSeq.events,
      lastTelemetrySeq: this.lastSeq.telemetry,
      appended: this.appended,
      batches: this.batches,
      bytes: this.quota.bytes,
      maxBytes: this.quota.maxBytes,
      fileBytes: fileSize(this.options.file),
      walBytes: fileSize(`${this.options.file}-wal`),
      retentionDeleted: this.retentionDeleted,
      checkpoints: this.checkpoints,
      recovered: this.recovered,
      parked: this.parkedCount,
    };
  }

  priorityOf(type: string): Priority {
    return this.prio.of(type);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.announceDrops();
    this.flush();
    this.closed = true;
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    if (this.reportTimer) clearTimeout(this.reportTimer);
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.log.warn({ err }, 'checkpoint on close failed');
    }
    this.db.close();
  }

  private toEvent(r: Row): EdgeEvent {
    return {
      schema: EVENT_SCHEMA_VERSION,
      id: r.id,
      seq: r.seq,
      stream: r.stream as Stream,
      gatewayId: this.options.gatewayId,
      type: r.type,
      parcelId: r.parcel_id,
      monoMs: r.mono_ms,
      time: new Date(r.wall_ms).toISOString(),
      payload: JSON.parse(r.payload) as Record<string, unknown>,
    };
  }
}

function toStoredRow(r: Row): StoredRow {
  return {
    pos: r.pos,
    stream: r.stream as Stream,
    seq: r.seq,
    id: r.id,
    type: r.type,
    parcelId: r.parcel_id,
    monoMs: r.mono_ms,
    time: new Date(r.wall_ms).toISOString(),
    payloadJson: r.payload,
    parked: r.parked !== null,
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
