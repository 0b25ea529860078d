import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';

/**
 * Every SQLite file the gateway writes in WAL mode keeps its write-ahead log sized to the disk
 * it lives on. SQLite's defaults (a checkpoint every 1000 pages, a WAL never truncated) let each
 * file keep a 4 MB WAL forever: on a small data partition a handful of stores (inspector queue,
 * line state, command replies) would take the room the outbox needs for the record. Here the
 * WAL is checkpointed after at most 1/256 of the disk (64 to 1000 pages) and truncated back to
 * at most 1/64 of it (1 to 64 MiB) after each checkpoint. The outbox's disk guard uses the same
 * figures (edge/outbox/disk-guard.ts).
 */

const MiB = 1024 * 1024;

export interface WalLimits {
  /** wal_autocheckpoint, in pages */
  checkpointPages: number;
  /** journal_size_limit, in bytes */
  journalSizeLimitBytes: number;
}

/** The WAL limits for a file system of `totalBytes` (0: unknown, SQLite's defaults kept). */
export function walLimitsFor(totalBytes: number, pageSize: number): WalLimits {
  if (totalBytes <= 0) return { checkpointPages: 1000, journalSizeLimitBytes: 64 * MiB };
  return {
    checkpointPages: clamp(Math.floor(totalBytes / 256 / pageSize), 64, 1000),
    journalSizeLimitBytes: clamp(Math.floor(totalBytes / 64), MiB, 64 * MiB),
  };
}

/**
 * Apply the disk-sized WAL limits to an open database (after `journal_mode = WAL`). The disk
 * is read once, at open: a disk that cannot be read keeps SQLite's checkpoint default with a
 * 64 MiB truncation limit. Returns what was applied.
 */
export function fitWalToDisk(
  db: Database.Database,
  file: string,
  statfs: (dir: string) => { blocks: number; bsize: number } = statfsSync,
): WalLimits {
  let total = 0;
  try {
    const s = statfs(dirname(file));
    total = s.blocks * s.bsize;
  } catch {
    total = 0;
  }
  const limits = walLimitsFor(total, db.pragma('page_size', { simple: true }) as number);
  db.pragma(`wal_autocheckpoint = ${limits.checkpointPages}`);
  db.pragma(`journal_size_limit = ${limits.journalSizeLimitBytes}`);
  return limits;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
