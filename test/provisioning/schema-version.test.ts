import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { ReplyStore } from '../../edge/commands/reply-store.js';
import { SnapshotStore } from '../../edge/gateway/snapshot-store.js';
import { isEdgeError } from '../../edge/errors.js';
import { silentLogger } from '../../edge/log.js';
import { Outbox } from '../../edge/outbox/outbox.js';
import {
  schemaVersions,
  STORE_SCHEMA_VERSIONS,
  type StoreComponent,
} from '../../edge/schema-version.js';
import { TargetingStore } from '../../edge/targeting/targeting-store.js';

/**
 * Rollback safety: every SQLite file the gateway owns records its schema version per store, and
 * an older gateway (simulated by writing a higher number, as a newer build would) refuses the
 * file with EDGE_STORE_TOO_NEW: not misread, not "recovered" by moving it aside, not changed.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'schema-version-'));
  dirs.push(d);
  return d;
}

const log = silentLogger();

interface StoreCase {
  component: StoreComponent;
  file: string;
  /** opens the store and writes one recognisable thing; returns a closer */
  open(file: string): { close(): void };
}

const cases: StoreCase[] = [
  {
    component: 'outbox',
    file: 'outbox.sqlite',
    open: (file) =>
      new Outbox({
        file,
        gatewayId: 'gw-test',
        synchronous: 'FULL',
        batchMaxRows: 500,
        clock: systemClock,
        log,
      }),
  },
  {
    component: 'reply-store',
    file: 'command-replies.sqlite',
    open: (file) => new ReplyStore({ file, wallMs: Date.now, log }),
  },
  {
    component: 'targeting',
    file: 'line-state.sqlite',
    open: (file) => new TargetingStore({ file, log, wallMs: Date.now }),
  },
  {
    component: 'tracking-snapshot',
    file: 'line-state.sqlite',
    open: (file) => new SnapshotStore(file),
  },
];

function bump(file: string, component: string, version: number): void {
  const db = new Database(file);
  db.prepare('UPDATE edge_schema SET version = ? WHERE component = ?').run(version, component);
  db.close();
}

function snapshotOf(file: string): string {
  const db = new Database(file, { readonly: true });
  const tables = db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    )
    .all()
    .map((t) => t.name);
  const rows = tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}"`).all()]);
  db.close();
  return JSON.stringify(rows);
}

describe('schema version in every SQLite file (rollback refuses a newer file)', () => {
  for (const c of cases) {
    it(`${c.component}: records its version; an older build refuses a newer file, untouched`, () => {
      const file = join(dir(), c.file);
      c.open(file).close();
      const db = new Database(file, { readonly: true });
      expect(schemaVersions(db).get(c.component)).toBe(STORE_SCHEMA_VERSIONS[c.component]);
      db.close();

      const newer = STORE_SCHEMA_VERSIONS[c.component] + 1;
      bump(file, c.component, newer);
      const before = snapshotOf(file);
      let error: unknown;
      try {
        c.open(file).close();
      } catch (err) {
        error = err;
      }
      expect(isEdgeError(error, 'EDGE_STORE_TOO_NEW')).toBe(true);
      expect((error as Error).message).toContain(`version ${newer}`);
      expect((error as Error).message).toContain(`reads up to version ${newer - 1}`);
      // refused as it is: not moved aside as "corrupt", no row changed
      expect(existsSync(file)).toBe(true);
      expect(readdirSync(join(file, '..')).filter((f) => f.includes('corrupt'))).toEqual([]);
      expect(snapshotOf(file)).toBe(before);

      // the same version (or an older one) opens
      bump(file, c.component, STORE_SCHEMA_VERSIONS[c.component]);
      c.open(file).close();
    });
  }

  it('a file from before the version table opens and gets its version recorded', () => {
    const file = join(dir(), 'outbox.sqlite');
    const outbox = cases[0]!.open(file);
    outbox.close();
    const db = new Database(file);
    db.exec('DROP TABLE edge_schema');
    db.close();
    cases[0]!.open(file).close();
    const again = new Database(file, { readonly: true });
    expect(schemaVersions(again).get('outbox')).toBe(STORE_SCHEMA_VERSIONS.outbox);
    again.close();
  });

  it('the line-state file keeps one row per store in it', () => {
    const file = join(dir(), 'line-state.sqlite');
    new TargetingStore({ file, log, wallMs: Date.now }).close();
    new SnapshotStore(file).close();
    const db = new Database(file, { readonly: true });
    expect(Object.fromEntries(schemaVersions(db))).toEqual({
      targeting: STORE_SCHEMA_VERSIONS.targeting,
      'tracking-snapshot': STORE_SCHEMA_VERSIONS['tracking-snapshot'],
    });
    db.close();
  });
});
