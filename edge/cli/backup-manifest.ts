import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { schemaVersions } from '../schema-version.js';

/**
 * A backup's manifest (manifest.json at its top): what each file is, where it goes back to, its
 * sha256 and size, and for each database the integrity check of the copy and its schema
 * versions. `restore` checks all of it before it writes anything.
 */

export const BACKUP_FORMAT = 'customs-edge-backup';
export const BACKUP_FORMAT_VERSION = 1;

export type FileArea = 'config' | 'data' | 'external';
export type FileRole = 'config' | 'secrets' | 'database' | 'pki' | 'tls';

export interface DatabaseFacts {
  role: 'outbox' | 'line-state' | 'reply-store';
  integrity: string;
  schema: Record<string, number>;
  /** outbox: last sequence numbers and row counts; line-state: active targeting list */
  facts: Record<string, unknown>;
}

export interface BackupFile {
  /** path inside the backup folder */
  path: string;
  area: FileArea;
  /** config / data: relative to the config or data folder; external: the absolute path */
  target: string;
  role: FileRole;
  /** private keys, secrets.env, password hashes: left out with --no-secrets */
  secret: boolean;
  sha256: string;
  bytes: number;
  mode: number;
  database?: DatabaseFacts;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  createdAt: string;
  gateway: { id: string; site: string; version: string; host: string };
  configFile: string;
  configDir: string;
  dataDir: string;
  includesSecrets: boolean;
  files: BackupFile[];
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Integrity, schema versions and a few facts of a database file (opened read-only). */
export function databaseFacts(file: string, role: DatabaseFacts['role']): DatabaseFacts {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const integrity = String(db.pragma('integrity_check', { simple: true }));
    const schema = Object.fromEntries(schemaVersions(db));
    const facts: Record<string, unknown> = {};
    const has = (table: string) =>
      (
        db
          .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?")
          .get(table) as { n: number }
      ).n > 0;
    if (role === 'outbox' && has('outbox_events')) {
      for (const r of db
        .prepare(
          `SELECT stream, max(seq) AS lastSeq, count(*) AS rows,
                  sum(delivered_at IS NULL) AS pending FROM outbox_events GROUP BY stream`,
        )
        .all() as { stream: string; lastSeq: number; rows: number; pending: number }[])
        facts[r.stream] = { lastSeq: r.lastSeq, rows: r.rows, pending: r.pending };
    }
    if (role === 'line-state' && has('targeting_active'))
      facts.targetingVersion =
        (
          db.prepare('SELECT version FROM targeting_active WHERE id = 1').get() as
            { version: string } | undefined
        )?.version ?? null;
    if (role === 'reply-store' && has('command_reply'))
      facts.replies = (
        db.prepare('SELECT count(*) AS n FROM command_reply').get() as { n: number }
      ).n;
    return { role, integrity, schema, facts };
  } finally {
    db.close();
  }
}

export function readManifest(file: string): BackupManifest {
  const m = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
  if (m.format !== BACKUP_FORMAT) throw new Error(`${file} is not a customs-edge backup manifest`);
  if (m.formatVersion > BACKUP_FORMAT_VERSION)
    throw new Error(
      `backup format ${m.formatVersion} is newer than this version reads (${BACKUP_FORMAT_VERSION})`,
    );
  return m;
}
