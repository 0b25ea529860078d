import type Database from 'better-sqlite3';
import type { EdgeEvent } from '../events/model.js';
import { rowToEvent, type Row } from './rows.js';

/**
 * Event search for the console (by waybill, parcel, type and time range), newest first. The
 * outbox has no index for these, so a search reads at most the last `scanRows` rows (a bounded
 * synchronous query on the main thread); older events are on the platform.
 */
export interface EventQuery {
  types?: readonly string[];
  /** every type starting with this (e.g. 'alarm.') */
  typePrefix?: string;
  parcelId?: string;
  /** the parcels that carried this waybill (parcel.identified / parcel.decided code) */
  waybill?: string;
  fromMs?: number;
  toMs?: number;
  limit?: number;
}

export class EventSearch {
  constructor(
    private readonly db: Database.Database,
    private readonly gatewayId: string,
    private readonly scanRows = 200_000,
  ) {}

  search(q: EventQuery): { events: EdgeEvent[]; scannedFromPos: number } {
    const maxPos =
      (this.db.prepare('SELECT MAX(pos) AS m FROM outbox_events').get() as { m: number | null })
        .m ?? 0;
    const fromPos = Math.max(0, maxPos - this.scanRows);
    const where = ['pos > ?'];
    const args: unknown[] = [fromPos];
    if (q.waybill) {
      const ids = this.db
        .prepare<unknown[], { parcel_id: string }>(
          `SELECT DISTINCT parcel_id FROM outbox_events WHERE pos > ? AND parcel_id IS NOT NULL
           AND type IN ('parcel.identified','parcel.decided') AND payload LIKE ? LIMIT 100`,
        )
        .all(fromPos, `%"code":${JSON.stringify(q.waybill)}%`)
        .map((r) => r.parcel_id);
      if (ids.length === 0) return { events: [], scannedFromPos: fromPos };
      where.push(`parcel_id IN (${ids.map(() => '?').join(',')})`);
      args.push(...ids);
    }
    if (q.parcelId) {
      where.push('parcel_id = ?');
      args.push(q.parcelId);
    }
    if (q.types && q.types.length > 0) {
      where.push(`type IN (${q.types.map(() => '?').join(',')})`);
      args.push(...q.types);
    }
    if (q.typePrefix) {
      where.push('type >= ? AND type < ?');
      args.push(q.typePrefix, `${q.typePrefix}\uffff`);
    }
    if (q.fromMs !== undefined) {
      where.push('wall_ms >= ?');
      args.push(q.fromMs);
    }
    if (q.toMs !== undefined) {
      where.push('wall_ms <= ?');
      args.push(q.toMs);
    }
    const rows = this.db
      .prepare<unknown[], Omit<Row, 'parked'>>(
        `SELECT pos, stream, seq, id, type, parcel_id, mono_ms, wall_ms, payload FROM outbox_events
         WHERE ${where.join(' AND ')} ORDER BY pos DESC LIMIT ?`,
      )
      .all(...args, Math.min(q.limit ?? 200, 1000));
    return {
      scannedFromPos: fromPos,
      events: rows.map((r) => rowToEvent(r, this.gatewayId)),
    };
  }
}
