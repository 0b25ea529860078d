import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Stream } from '../events/model.js';
import type { DiskStatus } from './disk-guard.js';
import type { QuotaKeeper } from './quota.js';

/**
 * The outbox's row counts (kept in memory, loaded once on open, moved by every commit, delivery,
 * parking, quota drop and retention run) and the stats snapshot built from them.
 */

export interface OutboxStats {
  pending: number;
  delivered: number;
  /** rows dropped by the quota, by priority, since the database was created */
  dropped: { telemetry: number; operational: number; records: number };
  /** times the quota had to drop records (each also raised an alarm) */
  alarms: number;
  /** last seq of the events stream */
  lastSeq: number;
  lastTelemetrySeq: number;
  appended: number;
  batches: number;
  bytes: number;
  maxBytes: number;
  /** the limit in force: the smaller of maxBytes and what the disk allows */
  limitBytes: number;
  limitBy: 'quota' | 'disk';
  /** the file system under the outbox, the reserve and the reserve file (disk-guard.ts) */
  disk: DiskStatus;
  /** delivered rows whose mark failed (full disk) and waits for the next one */
  unmarked: number;
  fileBytes: number;
  walBytes: number;
  retentionDeleted: number;
  checkpoints: number;
  recovered: string | null;
  /** undelivered rows the uplink parked (never sent: too large for the broker), not in `pending` */
  parked: number;
}

export interface OutboxCounts {
  /** undelivered rows, parked ones excluded */
  pending: number;
  delivered: number;
  /** undelivered parked rows */
  parked: number;
  appended: number;
  batches: number;
  retentionDeleted: number;
  checkpoints: number;
}

/** Row counts and estimated stored bytes of an opened database (`parked` counted by the caller). */
export function loadCounts(
  db: Database.Database,
  parked: number,
): { counts: OutboxCounts; bytes: number } {
  const row = db
    .prepare<[], { pending: number; delivered: number; bytes: number | null }>(
      `SELECT sum(delivered_at IS NULL) AS pending, sum(delivered_at IS NOT NULL) AS delivered,
                sum(bytes) AS bytes FROM outbox_events`,
    )
    .get();
  return {
    counts: {
      pending: (row?.pending ?? 0) - parked,
      delivered: row?.delivered ?? 0,
      parked,
      appended: 0,
      batches: 0,
      retentionDeleted: 0,
      checkpoints: 0,
    },
    bytes: row?.bytes ?? 0,
  };
}

export function outboxStats(s: {
  counts: OutboxCounts;
  quota: QuotaKeeper;
  lastSeq: Readonly<Record<Stream, number>>;
  file: string;
  recovered: string | null;
  disk: DiskStatus;
  unmarked: number;
}): OutboxStats {
  const dropped = s.quota.dropped;
  return {
    pending: s.counts.pending,
    delivered: s.counts.delivered,
    dropped: { telemetry: dropped[0], operational: dropped[1], records: dropped[2] },
    alarms: s.quota.alarms,
    lastSeq: s.lastSeq.events,
    lastTelemetrySeq: s.lastSeq.telemetry,
    appended: s.counts.appended,
    batches: s.counts.batches,
    bytes: s.quota.bytes,
    maxBytes: s.quota.maxBytes,
    limitBytes: Math.round(s.quota.limit),
    limitBy: s.quota.limitBy,
    disk: s.disk,
    unmarked: s.unmarked,
    fileBytes: fileSize(s.file),
    walBytes: fileSize(`${s.file}-wal`),
    retentionDeleted: s.counts.retentionDeleted,
    checkpoints: s.counts.checkpoints,
    recovered: s.recovered,
    parked: s.counts.parked,
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
