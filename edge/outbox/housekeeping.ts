import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import type { QuotaKeeper } from './quota.js';
import type { OutboxCounts } from './stats.js';

/**
 * Housekeeping of the outbox file on a timer: retention of delivered rows (kept
 * `deliveredRetentionS` for replays, deleted in short transactions) and a WAL checkpoint
 * (TRUNCATE when nothing is pending, PASSIVE otherwise), and the TRUNCATE checkpoint on close.
 */

export interface HousekeepingOptions {
  clock: Clock;
  log: Logger;
  quota: QuotaKeeper;
  counts: OutboxCounts;
  deliveredRetentionS?: number;
  maintenanceIntervalMs?: number;
  closed: () => boolean;
}

export class Housekeeping {
  private readonly timer: TimerHandle;

  constructor(
    private readonly db: Database.Database,
    private readonly o: HousekeepingOptions,
  ) {
    const interval = o.maintenanceIntervalMs ?? 30_000;
    this.timer = o.clock.setRepeatingTimer(() => this.maintain(), interval, { unref: true });
  }

  /** Retention of delivered rows and a WAL checkpoint; failures are logged, never thrown. */
  maintain(): void {
    if (this.o.closed()) return;
    try {
      const cutoff = this.o.clock.wallMs() - (this.o.deliveredRetentionS ?? 3 * 86400) * 1000;
      const deleted = this.o.quota.deleteDeliveredBefore(cutoff);
      this.o.counts.retentionDeleted += deleted;
      this.o.counts.delivered -= deleted;
      this.db.pragma(
        this.o.counts.pending === 0 ? 'wal_checkpoint(TRUNCATE)' : 'wal_checkpoint(PASSIVE)',
      );
      this.o.counts.checkpoints++;
    } catch (err) {
      this.o.log.warn({ err }, 'outbox maintenance failed');
    }
  }

  stop(): void {
    this.o.clock.clearTimer(this.timer);
  }

  /** The last checkpoint before the database closes (leaves no WAL behind when it succeeds). */
  checkpointOnClose(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.o.log.warn({ err }, 'checkpoint on close failed');
    }
  }
}
