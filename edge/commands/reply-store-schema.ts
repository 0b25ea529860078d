import Database from 'better-sqlite3';
import {
  recordSchemaVersion,
  refuseNewerSchema,
  STORE_SCHEMA_VERSIONS,
} from '../schema-version.js';
import { fitWalToDisk } from '../sqlite-wal.js';

/**
 * The reply store's SQLite file: opened WAL + synchronous FULL, the `command_reply` table, and
 * in-place migrations of older files (user_version). See reply-store.ts.
 */

export const REPLY_STORE_SCHEMA_VERSION = STORE_SCHEMA_VERSIONS['reply-store'];

export function openDb(file: string): Database.Database {
  const db = new Database(file);
  try {
    refuseNewerSchema(db, file, 'reply-store'); // a rollback refuses a newer file
    db.pragma('journal_mode = WAL');
    fitWalToDisk(db, file);
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS command_reply (
        id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('started', 'done')),
        process TEXT NOT NULL,
        reply TEXT,
        created_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        reply_topic TEXT,
        correlation BLOB,
        published_at INTEGER,
        args_hash TEXT,
        undeliverable_at INTEGER);
      CREATE INDEX IF NOT EXISTS command_reply_created ON command_reply (created_ms);
    `);
    migrate(db);
    recordSchemaVersion(db, 'reply-store');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Version 0 (files of the first reply store) lacks the destination and published columns: add
 * them in place and count its done rows as published (nowhere known to deliver them to).
 * Version 1 lacks `args_hash` and `undeliverable_at`: added in place; its rows keep a null hash
 * (they match any arguments) and stay deliverable.
 */
function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= REPLY_STORE_SCHEMA_VERSION) return;
  db.transaction(() => {
    const have = new Set(
      (db.prepare('PRAGMA table_info(command_reply)').all() as Array<{ name: string }>).map(
        (c) => c.name,
      ),
    );
    for (const [name, type] of [
      ['reply_topic', 'TEXT'],
      ['correlation', 'BLOB'],
      ['published_at', 'INTEGER'],
      ['args_hash', 'TEXT'],
      ['undeliverable_at', 'INTEGER'],
    ] as const) {
      if (!have.has(name)) db.exec(`ALTER TABLE command_reply ADD COLUMN ${name} ${type}`);
    }
    if (version < 1) {
      db.exec(
        `UPDATE command_reply SET published_at = COALESCE(finished_ms, created_ms)
         WHERE state = 'done' AND published_at IS NULL AND reply_topic IS NULL`,
      );
    }
    db.pragma(`user_version = ${REPLY_STORE_SCHEMA_VERSION}`);
  })();
}
