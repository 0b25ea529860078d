import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { EdgeError } from '../errors.js';
import type { ProjectionChanges, ProjectionSource } from './flag-projection.js';
import type { Decision, Flag, ParcelContext } from './model.js';
import { fitWalToDisk } from '../sqlite-wal.js';

/**
 * The inspector's SQLite file (`inspector.sqlite` in dataDir, WAL): queue entries (flags),
 * officer decisions, and a small index of recent parcels (waybill, verdict, image, the seqs of
 * their stored events) for search and the parcel story. It is a projection of the outbox: each
 * batch of committed events is written in one transaction together with the seq of the last
 * event applied (`checkpoint`), so after a crash or power cut the desk re-reads the outbox from
 * there and nothing is lost or applied twice. synchronous NORMAL: what it may lose on a power
 * cut is still in the outbox (FULL) and is read again at start.
 */

export interface StoreStats {
  openFlags: number;
  flags: number;
  decisions: number;
  parcels: number;
}

interface FlagRow {
  doc: string;
}

export class InspectorStore implements ProjectionSource {
  private readonly db: Database.Database;
  private readonly stmt: {
    getFlag: Database.Statement<[string], FlagRow>;
    getParcel: Database.Statement<[string], { doc: string }>;
    getDecision: Database.Statement<[string], { doc: string }>;
    putFlag: Database.Statement<[string, number, string, number | null, string | null, string]>;
    putParcel: Database.Statement<[string, string | null, number, string]>;
    putDecision: Database.Statement<[string, string, number, string, string, number, string]>;
    setMeta: Database.Statement<[string, string]>;
  };
  private readonly writeTx: Database.Transaction<(ch: ProjectionChanges, nowMs: number) => void>;

  constructor(readonly file: string) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      fitWalToDisk(this.db, file);
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS flags (
          parcel_id TEXT PRIMARY KEY, flagged_ms INTEGER NOT NULL, status TEXT NOT NULL,
          decided_ms INTEGER, waybill TEXT, doc TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS flags_open ON flags (status, flagged_ms);
        CREATE INDEX IF NOT EXISTS flags_time ON flags (flagged_ms);
        CREATE INDEX IF NOT EXISTS flags_waybill ON flags (waybill) WHERE waybill IS NOT NULL;
        CREATE TABLE IF NOT EXISTS decisions (
          id TEXT PRIMARY KEY, parcel_id TEXT NOT NULL, decided_ms INTEGER NOT NULL,
          officer TEXT NOT NULL, action TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS decisions_parcel ON decisions (parcel_id);
        CREATE INDEX IF NOT EXISTS decisions_time ON decisions (decided_ms);
        CREATE TABLE IF NOT EXISTS parcels (
          parcel_id TEXT PRIMARY KEY, waybill TEXT, seen_ms INTEGER NOT NULL, doc TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS parcels_waybill ON parcels (waybill) WHERE waybill IS NOT NULL;
        CREATE INDEX IF NOT EXISTS parcels_seen ON parcels (seen_ms);
      `);
    } catch (err) {
      throw new EdgeError('EDGE_INSPECTOR_STORE', `inspector store ${file}: ${String(err)}`, {
        cause: err,
      });
    }
    const db = this.db;
    this.stmt = {
      getFlag: db.prepare('SELECT doc FROM flags WHERE parcel_id = ?'),
      getParcel: db.prepare('SELECT doc FROM parcels WHERE parcel_id = ?'),
      getDecision: db.prepare('SELECT doc FROM decisions WHERE id = ?'),
      putFlag: db.prepare(
        `INSERT INTO flags (parcel_id, flagged_ms, status, decided_ms, waybill, doc)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(parcel_id) DO UPDATE SET flagged_ms = excluded.flagged_ms,
           status = excluded.status, decided_ms = excluded.decided_ms,
           waybill = excluded.waybill, doc = excluded.doc`,
      ),
      putParcel: db.prepare(
        `INSERT INTO parcels (parcel_id, waybill, seen_ms, doc) VALUES (?, ?, ?, ?)
         ON CONFLICT(parcel_id) DO UPDATE SET waybill = excluded.waybill, doc = excluded.doc`,
      ),
      putDecision: db.prepare(
        `INSERT INTO decisions (id, parcel_id, decided_ms, officer, action, seq, doc)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, seq = excluded.seq`,
      ),
      setMeta: db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
    };
    this.writeTx = db.transaction((ch: ProjectionChanges, nowMs: number) => {
      for (const c of ch.contexts.values())
        this.stmt.putParcel.run(c.parcelId, c.waybill, c.inductedMs ?? nowMs, JSON.stringify(c));
      for (const f of ch.flags.values())
        this.stmt.putFlag.run(
          f.parcelId,
          f.flaggedAtMs,
          f.status,
          f.decision ? Date.parse(f.decision.at) : null,
          f.waybill,
          JSON.stringify(f),
        );
      for (const d of ch.decisions.values())
        this.stmt.putDecision.run(
          d.id,
          d.parcelId,
          d.atMs,
          d.officer,
          d.action,
          d.seq,
          JSON.stringify(d),
        );
      if (ch.lastSeq > 0) this.stmt.setMeta.run('checkpoint', String(ch.lastSeq));
    });
  }

  /** The seq of the last event applied (0: none yet). */
  checkpoint(): number {
    return Number(this.meta('checkpoint') ?? 0);
  }

  meta(key: string): string | null {
    const row = this.db
      .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
      .get(key);
    return row?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.stmt.setMeta.run(key, value);
  }

  /** One batch of projection changes and its checkpoint, in one transaction. */
  write(ch: ProjectionChanges, nowMs: number): void {
    this.writeTx.immediate(ch, nowMs);
  }

  flag(parcelId: string): Flag | null {
    const row = this.stmt.getFlag.get(parcelId);
    return row ? (JSON.parse(row.doc) as Flag) : null;
  }

  context(parcelId: string): ParcelContext | null {
    const row = this.stmt.getParcel.get(parcelId);
    return row ? (JSON.parse(row.doc) as ParcelContext) : null;
  }

  decision(id: string): Decision | null {
    const row = this.stmt.getDecision.get(id);
    return row ? (JSON.parse(row.doc) as Decision) : null;
  }

  openFlags(): Flag[] {
    return this.docs<Flag>("SELECT doc FROM flags WHERE status = 'open' ORDER BY flagged_ms", []);
  }

  /** The latest decided entries, newest first. */
  recentDecided(limit: number): Flag[] {
    return this.docs<Flag>(
      "SELECT doc FROM flags WHERE status = 'decided' ORDER BY decided_ms DESC LIMIT ?",
      [limit],
    );
  }

  /** Entries flagged in [fromMs, toMs) or still open from before, oldest first. */
  flagsBetween(fromMs: number, toMs: number, limit: number): Flag[] {
    return this.docs<Flag>(
      'SELECT doc FROM flags WHERE flagged_ms >= ? AND flagged_ms < ? ORDER BY flagged_ms LIMIT ?',
      [fromMs, toMs, limit],
    );
  }

  decisionsBetween(fromMs: number, toMs: number, limit: number): Decision[] {
    return this.docs<Decision>(
      'SELECT doc FROM decisions WHERE decided_ms >= ? AND decided_ms < ? ORDER BY decided_ms LIMIT ?',
      [fromMs, toMs, limit],
    );
  }

  decisionsOf(parcelId: string): Decision[] {
    return this.docs<Decision>(
      'SELECT doc FROM decisions WHERE parcel_id = ? ORDER BY decided_ms, seq',
      [parcelId],
    );
  }

  /** Parcels whose waybill is `waybill` (case-insensitive), newest first. */
  parcelsByWaybill(waybill: string, limit: number): ParcelContext[] {
    const w = waybill.trim().toUpperCase();
    const fromIndex = this.docs<ParcelContext>(
      'SELECT doc FROM parcels WHERE upper(waybill) = ? ORDER BY seen_ms DESC LIMIT ?',
      [w, limit],
    );
    return fromIndex;
  }

  /** Flagged parcels with this waybill (kept longer than the parcel index), newest first. */
  flagsByWaybill(waybill: string, limit: number): Flag[] {
    return this.docs<Flag>(
      'SELECT doc FROM flags WHERE upper(waybill) = ? ORDER BY flagged_ms DESC LIMIT ?',
      [waybill.trim().toUpperCase(), limit],
    );
  }

  /**
   * Drop parcel index rows older than `parcelsBeforeMs` (their events have left the outbox) and
   * decided entries and decisions older than `historyBeforeMs`. Open entries are never dropped.
   */
  prune(parcelsBeforeMs: number, historyBeforeMs: number): { parcels: number; flags: number } {
    const parcels = this.db
      .prepare('DELETE FROM parcels WHERE seen_ms < ?')
      .run(parcelsBeforeMs).changes;
    const flags = this.db
      .prepare("DELETE FROM flags WHERE status = 'decided' AND decided_ms < ?")
      .run(historyBeforeMs).changes;
    this.db.prepare('DELETE FROM decisions WHERE decided_ms < ?').run(historyBeforeMs);
    return { parcels, flags };
  }

  stats(): StoreStats {
    const count = (sql: string) => this.db.prepare<[], { n: number }>(sql).get()?.n ?? 0;
    return {
      openFlags: count("SELECT count(*) AS n FROM flags WHERE status = 'open'"),
      flags: count('SELECT count(*) AS n FROM flags'),
      decisions: count('SELECT count(*) AS n FROM decisions'),
      parcels: count('SELECT count(*) AS n FROM parcels'),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private docs<T>(sql: string, params: unknown[]): T[] {
    return this.db
      .prepare<unknown[], { doc: string }>(sql)
      .all(...params)
      .map((r) => JSON.parse(r.doc) as T);
  }
}
