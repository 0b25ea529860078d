import type Database from 'better-sqlite3';

/**
 * Parked rows of the outbox (rows the uplink does not send live: too large for the broker).
 * An event row is parked together with the alarm event that explains its seq gap, in one
 * transaction (Outbox.parkWithAlarm); the alarm's id is kept on the row (`parked_alarm`), so a
 * parked row is explained exactly once. Both columns are added in place to older files; a file
 * written by the earlier code (park first, alarm appended later, not atomic) gets its existing
 * alarms linked by the parked row's id, and any parked row still unexplained gets its alarm from
 * the uplink on start (OversizeGuard.explainParked).
 */

/** A parked, undelivered row of the events stream that no alarm names yet. */
export interface UnexplainedParkedRow {
  pos: number;
  stream: 'events';
  seq: number;
  id: string;
  type: string;
  /** the reason stored when it was parked */
  reason: string;
  /** bytes of its stored payload JSON */
  payloadBytes: number;
}

export class ParkingStore {
  private readonly parkStmt: Database.Statement<[string, string | null, number]>;
  private readonly explainStmt: Database.Statement<[string, number]>;
  private readonly deliveredStmt: Database.Statement<[number, number]>;
  private readonly countStmt: Database.Statement<[], { n: number }>;
  private readonly unexplainedStmt: Database.Statement<[], UnexplainedParkedRow>;

  constructor(private readonly db: Database.Database) {
    addParkingColumns(db);
    this.parkStmt = db.prepare(
      `UPDATE outbox_events SET parked = ?, parked_alarm = ?
       WHERE pos = ? AND delivered_at IS NULL AND parked IS NULL`,
    );
    this.explainStmt = db.prepare(
      `UPDATE outbox_events SET parked_alarm = ?
       WHERE pos = ? AND delivered_at IS NULL AND parked IS NOT NULL AND parked_alarm IS NULL`,
    );
    this.deliveredStmt = db.prepare(
      `UPDATE outbox_events SET delivered_at = ?
       WHERE pos = ? AND delivered_at IS NULL AND parked IS NOT NULL`,
    );
    this.countStmt = db.prepare(
      'SELECT count(*) AS n FROM outbox_events WHERE parked IS NOT NULL AND delivered_at IS NULL',
    );
    this.unexplainedStmt = db.prepare(
      `SELECT pos, stream, seq, id, type, parked AS reason, length(CAST(payload AS BLOB)) AS payloadBytes
       FROM outbox_events
       WHERE parked IS NOT NULL AND delivered_at IS NULL AND parked_alarm IS NULL AND stream = 'events'
       ORDER BY pos`,
    );
  }

  /** Park an undelivered, unparked row (with the id of the alarm explaining it, if any). */
  park(pos: number, reason: string, alarmId: string | null): number {
    return this.parkStmt.run(reason, alarmId, pos).changes;
  }

  /** Record the alarm explaining a parked row that had none. */
  explain(pos: number, alarmId: string): number {
    return this.explainStmt.run(alarmId, pos).changes;
  }

  markDelivered(pos: number, nowWallMs: number): number {
    return this.deliveredStmt.run(nowWallMs, pos).changes;
  }

  count(): number {
    return this.countStmt.get()?.n ?? 0;
  }

  /**
   * Parked undelivered event rows no alarm names. Alarms of `alarmType` already stored for a
   * parked row (payload `id` = the row's id: written by the earlier, non-atomic code) are linked
   * first, so they are not raised twice.
   */
  unexplained(alarmType: string): UnexplainedParkedRow[] {
    const link = this.db.prepare<[string]>(
      `UPDATE outbox_events AS p SET parked_alarm = (
         SELECT a.id FROM outbox_events AS a
         WHERE a.type = ? AND json_valid(a.payload) AND json_extract(a.payload, '$.id') = p.id
         ORDER BY a.pos LIMIT 1)
       WHERE p.parked IS NOT NULL AND p.delivered_at IS NULL AND p.parked_alarm IS NULL
         AND p.stream = 'events'`,
    );
    link.run(alarmType);
    return this.unexplainedStmt.all();
  }
}

/** The parking columns, added in place to databases created before they existed. */
function addParkingColumns(db: Database.Database): void {
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(outbox_events)').all();
  if (!columns.some((c) => c.name === 'parked')) {
    db.exec('ALTER TABLE outbox_events ADD COLUMN parked TEXT');
  }
  if (!columns.some((c) => c.name === 'parked_alarm')) {
    db.exec('ALTER TABLE outbox_events ADD COLUMN parked_alarm TEXT');
  }
  db.exec(
    'CREATE INDEX IF NOT EXISTS ob_parked ON outbox_events (pos) WHERE parked IS NOT NULL AND delivered_at IS NULL',
  );
}
