import type Database from 'better-sqlite3';
import { EVENT_SCHEMA_VERSION, type EdgeEvent, type Stream } from '../events/model.js';

/**
 * Reading stored rows of the outbox: the pending set in commit order (uplink), ranges of a stream
 * by seq (replays) and recent events by type (status page after a restart).
 */

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

/** an outbox_events row as SQLite returns it (COLUMNS) */
export interface Row {
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

export const COLUMNS = 'pos, stream, seq, id, type, parcel_id, mono_ms, wall_ms, payload, parked';

/** A row read in raw mode: the COLUMNS in order. */
type RawRow = [
  pos: number,
  stream: string,
  seq: number,
  id: string,
  type: string,
  parcel_id: string | null,
  mono_ms: number,
  wall_ms: number,
  payload: string,
  parked: string | null,
];

export class RowReader {
  private readonly pendingStmt: Database.Statement<[number, number], RawRow>;
  private readonly rangeStmt: Database.Statement<[string, number, number, number], Row>;
  private lastWallMs = Number.NaN;
  private lastTime = '';

  /** Prepare after the parking columns exist (ParkingStore adds them to older files). */
  constructor(
    private readonly db: Database.Database,
    private readonly gatewayId: string,
  ) {
    // raw (arrays, not objects): the uplink's hot path reads every row through here
    this.pendingStmt = db
      .prepare<[number, number], RawRow>(
        `SELECT ${COLUMNS} FROM outbox_events
         WHERE delivered_at IS NULL AND parked IS NULL AND pos > ? ORDER BY pos LIMIT ?`,
      )
      .raw(true);
    this.rangeStmt = db.prepare<[string, number, number, number], Row>(
      `SELECT ${COLUMNS} FROM outbox_events WHERE stream = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`,
    );
  }

  /** Undelivered, unparked rows after position `afterPos`, in commit order. */
  pending(afterPos: number, limit: number): StoredRow[] {
    const rows = this.pendingStmt.all(afterPos, limit);
    const out: StoredRow[] = new Array<StoredRow>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = this.fromRaw(rows[i]!);
    return out;
  }

  /** Rows committed together share their wall time: its ISO text is formatted once. */
  private fromRaw(r: RawRow): StoredRow {
    if (r[7] !== this.lastWallMs) {
      this.lastWallMs = r[7];
      this.lastTime = new Date(r[7]).toISOString();
    }
    return rawToStoredRow(r, this.lastTime);
  }

  /** Stored rows (delivered or not) of a stream with fromSeq <= seq <= toSeq. */
  range(stream: Stream, fromSeq: number, toSeq: number, limit: number): StoredRow[] {
    return this.rangeStmt.all(stream, fromSeq, toSeq, limit).map(toStoredRow);
  }

  /** The last `limit` events of the given types, oldest first. */
  recent(types: readonly string[], limit: number): EdgeEvent[] {
    const placeholders = types.map(() => '?').join(',');
    const rows = this.db
      .prepare<unknown[], Row>(
        `SELECT ${COLUMNS} FROM outbox_events WHERE type IN (${placeholders}) ORDER BY pos DESC LIMIT ?`,
      )
      .all(...types, limit);
    return rows.reverse().map((r) => this.toEvent(r));
  }

  private toEvent(r: Row): EdgeEvent {
    return rowToEvent(r, this.gatewayId);
  }
}

/** A stored row as the event it records (payload parsed). */
export function rowToEvent(r: Omit<Row, 'parked'>, gatewayId: string): EdgeEvent {
  return {
    schema: EVENT_SCHEMA_VERSION,
    id: r.id,
    seq: r.seq,
    stream: r.stream as Stream,
    gatewayId,
    type: r.type,
    parcelId: r.parcel_id,
    monoMs: r.mono_ms,
    time: new Date(r.wall_ms).toISOString(),
    payload: JSON.parse(r.payload) as Record<string, unknown>,
  };
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

function rawToStoredRow(r: RawRow, time: string): StoredRow {
  return {
    pos: r[0],
    stream: r[1] as Stream,
    seq: r[2],
    id: r[3],
    type: r[4],
    parcelId: r[5],
    monoMs: r[6],
    time,
    payloadJson: r[8],
    parked: r[9] !== null,
  };
}
