import Database from 'better-sqlite3';
import { EdgeError } from './errors.js';

/**
 * Which schema version of each store a gateway wrote into its SQLite files, so that an older
 * gateway (a rollback) REFUSES a file a newer one has changed instead of misreading it.
 *
 * Every file the gateway owns holds a table `edge_schema (component, version)`: one row per
 * store in that file (the line-state file holds two: the targeting list and the tracking
 * snapshot). On open a store calls `refuseNewerSchema` before it touches anything, then, once
 * its tables exist and its own migrations ran, `recordSchemaVersion`. A file written before this
 * table existed has no row: version 0, which every gateway reads (and migrates).
 *
 * Bump a store's number below when its schema changes in a way an older gateway would misread
 * (new columns it would ignore while deleting rows, changed meaning of a column...). Adding an
 * index an older build ignores safely needs no bump.
 */

export const STORE_SCHEMA_VERSIONS = {
  /** edge/outbox/store.ts: outbox_events (with the parking columns), outbox_meta */
  outbox: 1,
  /** edge/commands/reply-store-schema.ts: command_reply (its user_version follows this number) */
  'reply-store': 2,
  /** edge/targeting/targeting-store.ts: targeting_list, targeting_entry, targeting_active */
  targeting: 1,
  /** edge/gateway/snapshot-store.ts: tracking_snapshot */
  'tracking-snapshot': 1,
} as const;

export type StoreComponent = keyof typeof STORE_SCHEMA_VERSIONS;

const TABLE = 'edge_schema';

/** The versions recorded in an open database (component -> version); empty for older files. */
export function schemaVersions(db: Database.Database): Map<string, number> {
  const exists = db
    .prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
    )
    .get(TABLE);
  if (!exists || exists.n === 0) return new Map();
  const rows = db
    .prepare<[], { component: string; version: number }>(`SELECT component, version FROM ${TABLE}`)
    .all();
  return new Map(rows.map((r) => [r.component, r.version]));
}

/**
 * Throw EDGE_STORE_TOO_NEW when the file holds a newer schema of this component than this build
 * reads. Call it right after opening, before any DDL or migration. Returns the version found (0:
 * none recorded).
 */
export function refuseNewerSchema(
  db: Database.Database,
  file: string,
  component: StoreComponent,
): number {
  const supported = STORE_SCHEMA_VERSIONS[component];
  const found = schemaVersions(db).get(component) ?? 0;
  if (found > supported) throw tooNew(file, component, found, supported);
  return found;
}

export function tooNew(
  file: string,
  component: string,
  found: number,
  supported: number,
): EdgeError {
  return new EdgeError(
    'EDGE_STORE_TOO_NEW',
    `${file}: the ${component} schema in this file is version ${found}, written by a newer gateway; this gateway reads up to version ${supported} and refuses to open it (run the newer version again, or restore a backup made with this version: docs/install.md)`,
    { details: { file, component, found, supported } },
  );
}

/** `new Database(file)` that refuses (and closes) a file with a newer schema of the component. */
export function openRefusingNewer(file: string, component: StoreComponent): Database.Database {
  const db = new Database(file);
  try {
    refuseNewerSchema(db, file, component);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Record this build's schema version of the component (after its tables and migrations). */
export function recordSchemaVersion(db: Database.Database, component: StoreComponent): void {
  const version = STORE_SCHEMA_VERSIONS[component];
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`,
  );
  const current = db
    .prepare<[string], { version: number }>(`SELECT version FROM ${TABLE} WHERE component = ?`)
    .get(component);
  if (current?.version === version) return;
  db.prepare(
    `INSERT INTO ${TABLE} (component, version) VALUES (?, ?)
     ON CONFLICT(component) DO UPDATE SET version = excluded.version`,
  ).run(component, version);
}
