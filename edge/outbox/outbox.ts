import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { EdgeError } from '../errors.js';
import { EVENT_SCHEMA_VERSION, type EdgeEvent, type EventDraft } from '../events/model.js';
import { UuidV7Generator } from '../events/uuidv7.js';

/**
 * The durable outbox: every event is committed to SQLite (WAL, explicit `synchronous`) before it
 * is acknowledged; a row leaves the pending set only when the uplink has its PUBACK.
 * Appends are grouped: all drafts appended in one tick are written in one transaction.
 */

export interface OutboxOptions {
  file: string;
  gatewayId: string;
  synchronous: 'FULL' | 'NORMAL';
  batchMaxRows: number;
  clock: Clock;
  log: Logger;
}

export interface OutboxStats {
  pending: number;
  delivered: number;
  lastSeq: number;
  appended: number;
  batches: number;
}

interface Row {
  seq: number;
  id: string;
  type: string;
  parcel_id: string | null;
  mono_ms: number;
  wall_ms: number;
  payload: string;
}

interface Waiter {
  drafts: EventDraft[];
  resolve: (events: EdgeEvent[]) => void;
  reject: (err: unknown) => void;
}

export class Outbox {
  private readonly db: Database.Database;
  private readonly ids: UuidV7Generator;
  private readonly queue: Waiter[] = [];
  private flushScheduled = false;
  private closed = false;
  private lastSeq: number;
  private pendingCount: number;
  private deliveredCount: number;
  private appended = 0;
  private batches = 0;
  private readonly listeners = new Set<(events: EdgeEvent[]) => void>();
  private readonly insert: Database.Statement;
  private readonly markStmt: Database.Statement;
  private readonly pendingStmt: Database.Statement<[number, number], Row>;
  private readonly log: Logger;

  constructor(private readonly options: OutboxOptions) {
    this.log = options.log;
    mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        parcel_id TEXT,
        mono_ms REAL NOT NULL,
        wall_ms INTEGER NOT NULL,
        payload TEXT NOT NULL,
        delivered_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS events_pending ON events (seq) WHERE delivered_at IS NULL;
    `);
    this.ids = new UuidV7Generator(() => options.clock.wallMs());
    const seqRow = this.db
      .prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
      .get();
    this.lastSeq = seqRow?.seq ?? 0;
    this.pendingCount = this.db
      .prepare<[], { n: number }>('SELECT count(*) AS n FROM events WHERE delivered_at IS NULL')
      .get()!.n;
    this.deliveredCount = this.db
      .prepare<[], { n: number }>('SELECT count(*) AS n FROM events WHERE delivered_at IS NOT NULL')
      .get()!.n;
    this.insert = this.db.prepare(
      'INSERT INTO events (seq, id, type, parcel_id, mono_ms, wall_ms, payload) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.markStmt = this.db.prepare(
      'UPDATE events SET delivered_at = ? WHERE seq = ? AND delivered_at IS NULL',
    );
    this.pendingStmt = this.db.prepare<[number, number], Row>(
      'SELECT seq, id, type, parcel_id, mono_ms, wall_ms, payload FROM events WHERE delivered_at IS NULL AND seq > ? ORDER BY seq LIMIT ?',
    );
    this.log.info(
      {
        file: options.file,
        synchronous: options.synchronous,
        lastSeq: this.lastSeq,
        pending: this.pendingCount,
      },
      'outbox open',
    );
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

  /** Subscribe to committed events (uplink wake-up, status page). */
  onCommitted(listener: (events: EdgeEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
    const startSeq = this.lastSeq;
    try {
      const tx = this.db.transaction(() => {
        let seq = startSeq;
        for (const w of waiters) {
          const stored: EdgeEvent[] = [];
          for (const d of w.drafts) {
            seq++;
            const wall = Math.round(nowWall - (nowMono - d.atMono));
            const event: EdgeEvent = {
              schema: EVENT_SCHEMA_VERSION,
              id: this.ids.next(),
              seq,
              gatewayId: this.options.gatewayId,
              type: d.type,
              parcelId: d.parcelId,
              monoMs: d.atMono,
              time: new Date(wall).toISOString(),
              payload: d.payload,
            };
            this.insert.run(
              seq,
              event.id,
              d.type,
              d.parcelId,
              d.atMono,
              wall,
              JSON.stringify(d.payload),
            );
            stored.push(event);
          }
          results.push(stored);
        }
        return seq;
      });
      this.lastSeq = tx.immediate();
    } catch (err) {
      const error = new EdgeError('EDGE_OUTBOX_WRITE', 'outbox commit failed', { cause: err });
      this.log.error({ err }, 'outbox commit failed');
      for (const w of waiters) w.reject(error);
      return;
    }
    const all = results.flat();
    this.pendingCount += all.length;
    this.appended += all.length;
    this.batches++;
    waiters.forEach((w, i) => w.resolve(results[i] ?? []));
    for (const l of this.listeners) {
      try {
        l(all);
      } catch (err) {
        this.log.error({ err }, 'outbox listener threw');
      }
    }
  }

  /** Undelivered events after `afterSeq`, in sequence order. */
  pending(afterSeq: number, limit: number): EdgeEvent[] {
    return this.pendingStmt.all(afterSeq, limit).map((r) => this.toEvent(r));
  }

  /** Mark events delivered (after their PUBACK). Returns how many changed. */
  markDelivered(seqs: readonly number[]): number {
    if (seqs.length === 0) return 0;
    const now = this.options.clock.wallMs();
    const tx = this.db.transaction((list: readonly number[]) => {
      let changed = 0;
      for (const s of list) changed += this.markStmt.run(now, s).changes;
      return changed;
    });
    const changed = tx.immediate(seqs);
    this.pendingCount -= changed;
    this.deliveredCount += changed;
    return changed;
  }

  /** Recent events of a type (for the status page after a restart). */
  recent(types: readonly string[], limit: number): EdgeEvent[] {
    const placeholders = types.map(() => '?').join(',');
    const rows = this.db
      .prepare<unknown[], Row>(
        `SELECT seq, id, type, parcel_id, mono_ms, wall_ms, payload FROM events WHERE type IN (${placeholders}) ORDER BY seq DESC LIMIT ?`,
      )
      .all(...types, limit);
    return rows.reverse().map((r) => this.toEvent(r));
  }

  stats(): OutboxStats {
    return {
      pending: this.pendingCount,
      delivered: this.deliveredCount,
      lastSeq: this.lastSeq,
      appended: this.appended,
      batches: this.batches,
    };
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
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
      gatewayId: this.options.gatewayId,
      type: r.type,
      parcelId: r.parcel_id,
      monoMs: r.mono_ms,
      time: new Date(r.wall_ms).toISOString(),
      payload: JSON.parse(r.payload) as Record<string, unknown>,
    };
  }
}
