import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import {
  EVENT_SCHEMA_VERSION,
  STREAMS,
  streamOf,
  type EdgeEvent,
  type EventDraft,
  type Stream,
} from '../events/model.js';
import type { UuidV7Generator } from '../events/uuidv7.js';
import type { PriorityTable } from './priority.js';
import { addToRanges, type DropRange, type DropReport, type QuotaKeeper } from './quota.js';
import { ROW_OVERHEAD_BYTES } from './store.js';

/** The event announcing drops: it never makes room for itself (QuotaKeeper.enforce). */
const DROP_ANNOUNCEMENT = 'outbox.dropped';

/**
 * The commit path of the outbox: the one place an event gets its per-stream seq (gapless,
 * assigned inside the transaction that stores it, persisted in outbox_meta with it), its wall
 * time and its stored form. Every commit runs the disk quota inside the same IMMEDIATE
 * transaction; lastSeq and the quota's counters move only once the transaction has committed.
 * A failed commit rolls the quota's staged figures back and throws the SQLite error.
 */

export interface WriterInit {
  gatewayId: string;
  clock: Clock;
  ids: UuidV7Generator;
  prio: PriorityTable;
  quota: QuotaKeeper;
  /** outbox_meta as read on open (`seq.<stream>` keys) */
  meta: ReadonlyMap<string, number>;
}

export class EventWriter {
  /** last committed seq per stream */
  readonly lastSeq: Record<Stream, number> = { events: 0, telemetry: 0 };
  /** streams whose lastSeq moved past a lost batch without a commit: persisted with the next */
  private readonly unsaved = new Set<Stream>();
  private readonly insert: Database.Statement;
  private readonly setMeta: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly init: WriterInit,
  ) {
    for (const s of STREAMS) {
      const max = db
        .prepare<[string], { seq: number | null }>(
          'SELECT max(seq) AS seq FROM outbox_events WHERE stream = ?',
        )
        .get(s);
      this.lastSeq[s] = Math.max(init.meta.get(`seq.${s}`) ?? 0, max?.seq ?? 0);
    }
    this.insert = db.prepare(
      `INSERT INTO outbox_events (stream, seq, id, type, parcel_id, mono_ms, wall_ms, payload, prio, bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.setMeta = db.prepare(
      'INSERT INTO outbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    );
  }

  /**
   * Store every group of drafts in ONE transaction; resolves to the stored events per group and
   * the quota's drop report (null: nothing dropped or deleted).
   */
  commitBatch(groups: readonly EventDraft[][]): {
    results: EdgeEvent[][];
    report: DropReport | null;
  } {
    const nowWall = this.init.clock.wallMs();
    const nowMono = this.init.clock.monoMs();
    const results: EdgeEvent[][] = [];
    const seqs = { ...this.lastSeq };
    let report: DropReport | null = null;
    let newBytes = 0;
    let exemptBytes = 0;
    try {
      const tx = this.db.transaction(() => {
        const touched = new Set<Stream>();
        for (const drafts of groups) {
          const stored: EdgeEvent[] = [];
          for (const d of drafts) {
            const { event, bytes } = this.insertDraft(
              d,
              this.init.ids.next(),
              seqs,
              nowWall,
              nowMono,
            );
            touched.add(event.stream);
            newBytes += bytes;
            if (d.type === DROP_ANNOUNCEMENT) exemptBytes += bytes;
            stored.push(event);
          }
          results.push(stored);
        }
        for (const s of new Set([...touched, ...this.unsaved])) {
          this.setMeta.run(`seq.${s}`, seqs[s]);
        }
        report = this.init.quota.enforce(
          newBytes,
          (key, value) => this.setMeta.run(key, value),
          exemptBytes,
        );
      });
      tx.immediate();
    } catch (err) {
      this.init.quota.rollback();
      throw err;
    }
    this.init.quota.commit();
    Object.assign(this.lastSeq, seqs);
    this.unsaved.clear();
    return { results, report };
  }

  /**
   * Groups that could not be stored (the disk was full): each draft still takes the next seq of
   * its stream, so the loss is a gap the platform sees, and these are the ranges that explain
   * it (persisted with the next commit). Returns the ranges and counts by priority.
   */
  skip(groups: readonly EventDraft[][]): { ranges: DropRange[]; byPriority: number[] } {
    const ranges: DropRange[] = [];
    const byPriority = [0, 0, 0];
    for (const drafts of groups) {
      for (const d of drafts) {
        const stream = streamOf(d.type);
        const seq = ++this.lastSeq[stream];
        this.unsaved.add(stream);
        byPriority[this.init.prio.of(d.type)]! += 1;
        addToRanges(ranges, { stream, seq }, 'disk-full');
      }
    }
    return { ranges, byPriority };
  }

  /**
   * Commit one alarm event together with the change `mark` makes (given the alarm's id; it
   * returns the rows it changed): both or neither. Null when `mark` changed nothing (the
   * transaction then stores nothing).
   */
  commitAlarm(
    alarm: EventDraft,
    mark: (alarmId: string) => number,
  ): { event: EdgeEvent; report: DropReport | null } | null {
    const nowWall = this.init.clock.wallMs();
    const nowMono = this.init.clock.monoMs();
    const seqs = { ...this.lastSeq };
    let event: EdgeEvent | null = null;
    let report: DropReport | null = null;
    try {
      const tx = this.db.transaction(() => {
        const id = this.init.ids.next();
        if (mark(id) === 0) return;
        const stored = this.insertDraft(alarm, id, seqs, nowWall, nowMono);
        this.setMeta.run(`seq.${stored.event.stream}`, seqs[stored.event.stream]);
        report = this.init.quota.enforce(stored.bytes, (key, value) =>
          this.setMeta.run(key, value),
        );
        event = stored.event;
      });
      tx.immediate();
    } catch (err) {
      this.init.quota.rollback();
      throw err;
    }
    const committed = event as EdgeEvent | null;
    if (!committed) return null;
    this.init.quota.commit();
    Object.assign(this.lastSeq, seqs);
    return { event: committed, report };
  }

  /**
   * Insert one draft as the next event of its stream (inside a transaction): its seq comes from
   * `seqs`, the caller's copy of lastSeq, committed with it.
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
      this.init.prio.of(d.type),
      bytes,
    );
    const event: EdgeEvent & { stream: Stream } = {
      schema: EVENT_SCHEMA_VERSION,
      id,
      seq,
      stream,
      gatewayId: this.init.gatewayId,
      type: d.type,
      parcelId: d.parcelId,
      monoMs: d.atMono,
      time: new Date(wall).toISOString(),
      payload: d.payload,
    };
    return { event, bytes };
  }
}
