import { existsSync, renameSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { isEdgeError } from '../errors.js';
import { refuseNewerSchema } from '../schema-version.js';

/**
 * Opening the outbox database: WAL, an explicit `synchronous` (a reopened WAL database would
 * default to NORMAL), the schema, the migration from the walking skeleton's `events` table, and
 * recovery: a file SQLite cannot open or that fails `quick_check` is moved aside (never deleted)
 * and a fresh database is started whose sequence numbers continue above any earlier ones.
 */

export const SCHEMA_DDL = `
  CREATE TABLE IF NOT EXISTS outbox_events (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    parcel_id TEXT,
    mono_ms REAL NOT NULL,
    wall_ms INTEGER NOT NULL,
    payload TEXT NOT NULL,
    prio INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    delivered_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS ob_pending ON outbox_events (pos) WHERE delivered_at IS NULL;
  CREATE INDEX IF NOT EXISTS ob_pending_prio ON outbox_events (prio, pos) WHERE delivered_at IS NULL;
  CREATE INDEX IF NOT EXISTS ob_delivered ON outbox_events (delivered_at) WHERE delivered_at IS NOT NULL;
  CREATE INDEX IF NOT EXISTS ob_stream_seq ON outbox_events (stream, seq);
  CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** Estimated bytes a row costs on disk (payload, fixed columns, index entries). */
export const ROW_OVERHEAD_BYTES = 160;

export interface OpenedStore {
  db: Database.Database;
  /** set when the previous file was unusable and moved aside */
  recovered: { reason: string; movedTo: string; seqBase: number } | null;
  migratedRows: number;
}

export interface OpenStoreOptions {
  file: string;
  synchronous: 'FULL' | 'NORMAL';
  quickCheck: boolean;
  wallMs: () => number;
  log: Logger;
}

function configure(db: Database.Database, synchronous: 'FULL' | 'NORMAL'): void {
  // a new file can give freed pages back to the file system (DiskGuard, on a full disk); an
  // existing file keeps its mode (changing it would need a VACUUM: twice the space)
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_size_limit = 67108864');
  db.pragma('wal_autocheckpoint = 1000');
}

function openChecked(o: OpenStoreOptions): { db: Database.Database; migratedRows: number } {
  const db = new Database(o.file);
  try {
    refuseNewerSchema(db, o.file, 'outbox'); // a rollback refuses a newer file (never misreads it)
    configure(db, o.synchronous);
    if (o.quickCheck) {
      const result = db.pragma('quick_check', { simple: true }) as string;
      if (result !== 'ok') throw new Error(`quick_check: ${result}`);
    }
    db.exec(SCHEMA_DDL);
    const migratedRows = migrateSkeletonTable(db);
    return { db, migratedRows };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The walking skeleton kept one global sequence in a table named `events`. */
function migrateSkeletonTable(db: Database.Database): number {
  const old = db
    .prepare<[], { n: number }>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'events'",
    )
    .get();
  if (!old || old.n === 0) return 0;
  const tx = db.transaction(() => {
    const info = db
      .prepare(
        `INSERT INTO outbox_events
           (pos, stream, seq, id, type, parcel_id, mono_ms, wall_ms, payload, prio, bytes, delivered_at)
         SELECT seq, 'events', seq, id, type, parcel_id, mono_ms, wall_ms, payload,
                CASE WHEN type LIKE 'telemetry%' THEN 0 ELSE 2 END,
                length(payload) + length(type) + ${ROW_OVERHEAD_BYTES}, delivered_at
         FROM events`,
      )
      .run();
    const last = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM events').get();
    db.prepare(
      "INSERT INTO outbox_meta (key, value) VALUES ('seq.events', ?) ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
    ).run(last?.seq ?? 0);
    db.exec('DROP TABLE events');
    return info.changes;
  });
  return tx.immediate();
}

export function openStore(o: OpenStoreOptions): OpenedStore {
  try {
    const { db, migratedRows } = openChecked(o);
    return { db, recovered: null, migratedRows };
  } catch (err) {
    if (!existsSync(o.file) || isEdgeError(err, 'EDGE_STORE_TOO_NEW')) throw err;
    const reason = (err as Error).message;
    const stamp = new Date(o.wallMs()).toISOString().replace(/[:.]/g, '-');
    const movedTo = `${o.file}.corrupt-${stamp}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(o.file + suffix)) renameSync(o.file + suffix, movedTo + suffix);
    }
    o.log.error({ err, movedTo }, 'outbox database unusable; moved aside, starting a new one');
    const { db } = openChecked({ ...o, quickCheck: false });
    // sequence numbers must keep increasing for the platform's dedupe: start far above any
    // earlier value (wall ms x 1000 exceeds any count reached at < 1M events/s)
    const seqBase = Math.floor(o.wallMs()) * 1000;
    const set = db.prepare(
      'INSERT INTO outbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)',
    );
    set.run('seq.events', seqBase);
    set.run('seq.telemetry', seqBase);
    return { db, recovered: { reason, movedTo, seqBase }, migratedRows: 0 };
  }
}
