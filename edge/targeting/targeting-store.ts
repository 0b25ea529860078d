import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { EdgeError, isEdgeError } from '../errors.js';
import { openRefusingNewer, recordSchemaVersion } from '../schema-version.js';
import { Slices } from './slices.js';
import {
  TargetingList,
  normalizeCode,
  targetingListIssues,
  targetingListIssuesInSlices,
} from './targeting-list.js';
import type { TargetingEntry } from './targeting-list.js';
import { fitWalToDisk } from '../sqlite-wal.js';

/**
 * The targeting list persisted in its own SQLite file (WAL, synchronous FULL: a list the
 * gateway reports as active survives a power cut). A replacement is one transaction: the new
 * version and all its entries, then the active pointer; a reader sees the old list or the new
 * one, never a mix. Hit counts are kept per entry and version. The last `keepVersions` versions
 * stay for the audit trail.
 */
/** rows per staging transaction / per delete of an old version */
const STAGE_ROWS = 1000;

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
  /** the version replaceInSlices is loading, if any */
  private loading: string | null = null;
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
    // rows of a list whose loading was cut (replaceInSlices stages before it activates)
    this.db
      .prepare(
        'DELETE FROM targeting_entry WHERE version NOT IN (SELECT version FROM targeting_list)',
      )
      .run();
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
    this.refuseWhileLoading();
    const issues = targetingListIssues(version, entries);
    this.refuseIssues(version, issues);
    const list = (entries as TargetingEntry[]).map((e) => ({
      id: e.id,
      match: e.match,
      pattern: normalizeCode(e.pattern),
      reason: e.reason ?? null,
    }));
    const insertEntry = this.db.prepare(
      'INSERT INTO targeting_entry (version, entry_id, match, pattern, reason) VALUES (?, ?, ?, ?, ?)',
    );
    this.db
      .transaction(() => {
        for (const e of list) insertEntry.run(version, e.id, e.match, e.pattern, e.reason);
        this.activate(version, source, list.length, true); // nested: a savepoint of this one
      })
      .immediate();
    this.current = new TargetingList(version, list);
    this.log.info({ version, entries: list.length, source }, 'targeting list replaced');
    return this.current;
  }

  /**
   * replace() for large lists, without stalling the event loop: checked, normalised, written and
   * indexed in slices (slices.ts). `entries` is taken over (normalised in place, kept as the
   * list's entries). The rows are staged under the new version in short
   * transactions, then one short transaction makes it active (a reader sees the old list or the
   * new one, never a mix; rows of a staging cut by a crash are removed on the next open); older
   * versions are removed afterwards, in slices. One load at a time: another replace meanwhile is
   * refused (EDGE_TARGETING_BUSY).
   */
  async replaceInSlices(
    version: string,
    entries: readonly unknown[],
    source: string,
    slices: Slices = new Slices(),
  ): Promise<TargetingList> {
    this.refuseWhileLoading();
    this.loading = version;
    try {
      this.refuseIssues(version, await targetingListIssuesInSlices(version, entries, slices));
      // the entries are taken over and normalised in place: a 500,000-entry list is not copied
      const list = entries as TargetingEntry[];
      await slices.forEach(list, (e) => {
        e.pattern = normalizeCode(e.pattern);
        e.reason ??= null;
      });
      this.db.prepare('DELETE FROM targeting_entry WHERE version = ?').run(version);
      const insertEntry = this.db.prepare(
        'INSERT INTO targeting_entry (version, entry_id, match, pattern, reason) VALUES (?, ?, ?, ?, ?)',
      );
      const writeRows = this.db.transaction((rows: TargetingEntry[]) => {
        for (const e of rows) insertEntry.run(version, e.id, e.match, e.pattern, e.reason);
      });
      // staged rows need no fsync each: the FULL commit of the activation syncs the whole WAL
      this.db.pragma('synchronous = NORMAL');
      try {
        for (let i = 0; i < list.length; i += STAGE_ROWS) {
          writeRows(list.slice(i, i + STAGE_ROWS));
          await slices.step();
        }
      } finally {
        this.db.pragma('synchronous = FULL');
      }
      const indexed = await TargetingList.build(version, list, slices);
      const old = this.activate(version, source, list.length, false);
      this.current = indexed;
      this.log.info({ version, entries: list.length, source }, 'targeting list replaced');
      for (const o of old) await this.removeVersion(o, slices);
      return indexed;
    } finally {
      this.loading = null;
    }
  }

  /** The new version row and the active pointer in one short transaction; older versions beyond keepVersions returned. */
  private activate(version: string, source: string, count: number, removeOld: boolean): string[] {
    const keep = this.o.keepVersions ?? 5;
    const at = new Date(this.o.wallMs()).toISOString();
    return this.db
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
          .run(version, source, at, count, seq);
        this.db
          .prepare(
            'INSERT INTO targeting_active (id, version) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version',
          )
          .run(version);
        const old = (
          this.db.prepare('SELECT version FROM targeting_list WHERE seq <= ?').all(seq - keep) as {
            version: string;
          }[]
        ).map((o) => o.version);
        for (const o of old) {
          this.db.prepare('DELETE FROM targeting_list WHERE version = ?').run(o);
          if (removeOld) this.db.prepare('DELETE FROM targeting_entry WHERE version = ?').run(o);
        }
        return old;
      })
      .immediate();
  }

  /** The rows of a version no longer listed, removed a few thousand at a time. */
  private async removeVersion(version: string, slices: Slices): Promise<void> {
    const del = this.db.prepare(
      'DELETE FROM targeting_entry WHERE rowid IN (SELECT rowid FROM targeting_entry WHERE version = ? LIMIT ?)',
    );
    while (del.run(version, STAGE_ROWS).changes > 0) await slices.step();
  }

  private refuseWhileLoading(): void {
    if (this.loading !== null)
      throw new EdgeError(
        'EDGE_TARGETING_BUSY',
        `targeting list '${this.loading}' is being loaded; send this one when it is active`,
      );
  }

  private refuseIssues(version: string, issues: string[]): void {
    const known = this.db.prepare('SELECT 1 FROM targeting_list WHERE version = ?').get(version);
    if (known) issues.push(`version '${version}' was already used: a new list needs a new version`);
    if (issues.length > 0)
      throw new EdgeError(
        'EDGE_TARGETING_INVALID',
        `targeting list rejected:\n  ${issues.slice(0, 100).join('\n  ')}${issues.length > 100 ? `\n  ... and ${issues.length - 100} more` : ''}`,
        { details: issues.slice(0, 1000) },
      );
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
