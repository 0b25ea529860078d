import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { EdgeError, isEdgeError } from '../errors.js';
import { openRefusingNewer, recordSchemaVersion } from '../schema-version.js';
import type { TrackingSnapshot } from '../engine/line-engine.js';
import { fitWalToDisk } from '../sqlite-wal.js';

/**
 * The tracking snapshot of a line in SQLite (one row per line). Written at most every few
 * hundred ms while parcels move; read once at start so the parcels a crashed or restarted
 * gateway was tracking get an explicit inspection decision. synchronous NORMAL: losing the last
 * write in a power cut loses records for a few parcels, not safety (an untracked parcel gets
 * no gate and runs straight on to inspection).
 */
export class SnapshotStore {
  private readonly db: Database.Database;
  private readonly put: Database.Statement;

  constructor(file: string) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.db = openRefusingNewer(file, 'tracking-snapshot'); // a rollback refuses a newer file
      this.db.pragma('journal_mode = WAL');
      fitWalToDisk(this.db, file);
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS tracking_snapshot (line_id TEXT PRIMARY KEY, json TEXT NOT NULL)',
      );
      recordSchemaVersion(this.db, 'tracking-snapshot');
      this.put = this.db.prepare(
        'INSERT INTO tracking_snapshot (line_id, json) VALUES (?, ?) ON CONFLICT(line_id) DO UPDATE SET json = excluded.json',
      );
    } catch (err) {
      if (isEdgeError(err, 'EDGE_STORE_TOO_NEW')) throw err;
      throw new EdgeError(
        'EDGE_TRACKING_SNAPSHOT',
        `tracking snapshot ${file}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  save(snapshot: TrackingSnapshot): void {
    this.put.run(snapshot.lineId, JSON.stringify(snapshot));
  }

  load(lineId: string): TrackingSnapshot | null {
    const row = this.db
      .prepare('SELECT json FROM tracking_snapshot WHERE line_id = ?')
      .get(lineId) as { json: string } | undefined;
    if (!row) return null;
    try {
      const s = JSON.parse(row.json) as TrackingSnapshot;
      return Array.isArray(s.parcels) ? s : null;
    } catch {
      return null;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
