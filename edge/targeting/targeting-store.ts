import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { EdgeError, isEdgeError } from '../errors.js';
import { openRefusingNewer, recordSchemaVersion } from '../schema-version.js';
import { TargetingList, normalizeCode, targetingListIssues } from './targeting-list.js';
import type { TargetingEntry } from './targeting-list.js';
import { fitWalToDisk } from '../sqlite-wal.js';

/**
 * The targeting list persisted in its own SQLite file (WAL, synchronous FULL: a list the
 * gateway reports as active survives a power cut). A replacement is one transaction: the new
 * version and all its entries, then the active pointer; a reader sees the old list or the new
 * one, never a mix. Hit counts are kept per entry and version. The last `keepVersions` versions
 * stay for the audit trail.
 */
export interface TargetingStoreOptions {
  file: string;
  log: Logger;
  wallMs: () => number;
  keepVersions?: number;
}

export interface TargetingEntryStats extends TargetingEntry {
  hits: number;
  lastHitAt: string | null;
}

export class TargetingStore {
  private readonly db: Database.Database;
  private current: TargetingList | null = null;
  private readonly log: Logger;

  constructor(private readonly o: TargetingStoreOptions) {
    this.log = o.log;
    mkdirSync(dirname(o.file), { recursive: true });
    try {
      this.db = openRefusingNewer(o.file, 'targeting'); // a rollback refuses a newer file
      this.db.pragma('journal_mode = WAL');
      fitWalToDisk(this.db, o.file);
      this.db.pragma('synchronous = FULL');
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS targeting_list (
          version TEXT PRIMARY KEY, source TEXT NOT NULL, activated_at TEXT NOT NULL,
          entry_count INTEGER NOT NULL, seq INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS targeting_entry (
          version TEXT NOT NULL, entry_id TEXT NOT NULL, match TEXT NOT NULL,
          pattern TEXT NOT NULL, reason TEXT, hits INTEGER NOT NULL DEFAULT 0, last_hit_at TEXT,
          PRIMARY KEY (version, entry_id));
        CREATE TABLE IF NOT EXISTS targeting_active (
          id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL);
      `);
      recordSchemaVersion(this.db, 'targeting');
    } catch (err) {
      if (isEdgeError(err, 'EDGE_STORE_TOO_NEW')) throw err;
      throw new EdgeError(
        'EDGE_TARGETING_STORE',
        `targeting store ${o.file}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    this.current = this.loadActive();
  }

  /** The active list (null before the first list arrives: nothing is targeted). */
  active(): TargetingList | null {
    return this.current;
  }

  private loadActive(): TargetingList | null {
    const row = this.db.prepare('SELECT version FROM targeting_active WHERE id = 1').get() as
      { version: string } | undefined;
    if (!row) return null;
    const entries = this.db
      .prepare(
        'SELECT entry_id AS id, match, pattern, reason FROM targeting_entry WHERE version = ?',
      )
      .all(row.version) as TargetingEntry[];
    return new TargetingList(row.version, entries);
  }

  /**
   * Replace the active list atomically. Throws EDGE_TARGETING_INVALID (listing every problem)
   * for a malformed list or a version already used; the active list is then unchanged.
   */
  replace(version: string, entries: readonly unknown[], source: string): TargetingList {
    const issues = targetingListIssues(version, entries);
    const known = this.db.prepare('SELECT 1 FROM targeting_list WHERE version = ?').get(version);
    if (known) issues.push(`version '${version}' was already used: a new list needs a new version`);
    if (issues.length > 0)
      throw new EdgeError(
        'EDGE_TARGETING_INVALID',
        `targeting list rejected:\n  ${issues.join('\n  ')}`,
        {
          details: issues,
        },
      );
    const list = (entries as TargetingEntry[]).map((e) => ({
      id: e.id,
      match: e.match,
      pattern: normalizeCode(e.pattern),
      reason: e.reason ?? null,
    }));
    const keep = this.o.keepVersions ?? 5;
    const at = new Date(this.o.wallMs()).toISOString();
    const insertEntry = this.db.prepare(
      'INSERT INTO targeting_entry (version, entry_id, match, pattern, reason) VALUES (?, ?, ?, ?, ?)',
    );
    this.db
      .transaction(() => {
        const seq = (
          this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM targeting_list').get() as {
            s: number;
          }
        ).s;
        this.db
          .prepare(
            'INSERT INTO targeting_list (version, source, activated_at, entry_count, seq) VALUES (?, ?, ?, ?, ?)',
          )
          .run(version, source, at, list.length, seq);
        for (const e of list) insertEntry.run(version, e.id, e.match, e.pattern, e.reason);
        this.db
          .prepare(
            'INSERT INTO targeting_active (id, version) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version',
          )
          .run(version);
        const old = this.db
          .prepare('SELECT version FROM targeting_list WHERE seq <= ?')
          .all(seq - keep) as { version: string }[];
        for (const o of old) {
          this.db.prepare('DELETE FROM targeting_entry WHERE version = ?').run(o.version);
          this.db.prepare('DELETE FROM targeting_list WHERE version = ?').run(o.version);
        }
      })
      .immediate();
    this.current = new TargetingList(version, list);
    this.log.info({ version, entries: list.length, source }, 'targeting list replaced');
    return this.current;
  }

  /** Count a hit against an entry of a version (stats: a failure is logged, never thrown). */
  recordHit(version: string, entryId: string): void {
    try {
      this.db
        .prepare(
          'UPDATE targeting_entry SET hits = hits + 1, last_hit_at = ? WHERE version = ? AND entry_id = ?',
        )
        .run(new Date(this.o.wallMs()).toISOString(), version, entryId);
    } catch (err) {
      this.log.warn({ err, version, entryId }, 'targeting hit not counted');
    }
  }

  /** Entries of a version (default: the active one) with their hit counts. */
  stats(version = this.current?.version): TargetingEntryStats[] {
    if (version === undefined) return [];
    return this.db
      .prepare(
        'SELECT entry_id AS id, match, pattern, reason, hits, last_hit_at AS lastHitAt FROM targeting_entry WHERE version = ? ORDER BY entry_id',
      )
      .all(version) as TargetingEntryStats[];
  }

  versions(): { version: string; source: string; activatedAt: string; entryCount: number }[] {
    return this.db
      .prepare(
        'SELECT version, source, activated_at AS activatedAt, entry_count AS entryCount FROM targeting_list ORDER BY seq DESC',
      )
      .all() as { version: string; source: string; activatedAt: string; entryCount: number }[];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
