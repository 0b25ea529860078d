import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EdgeEvent, EventDraft } from '../events/model.js';
import type { OutboxAlarms } from './alarms.js';
import type { ParkingStore } from './parking.js';
import type { DropReport, QuotaKeeper } from './quota.js';
import type { OutboxCounts } from './stats.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * What follows a commit whose quota enforcement deleted or dropped rows: the row counts are
 * corrected (parked rows apart from pending ones), dropped records raise EDGE_OUTBOX_QUOTA, and
 * the drops are announced on the events stream (`outbox.dropped`, at most once a second), so the
 * platform can tell a quota gap from a transport gap.
 */

export interface DropNoticeDeps {
  clock: Clock;
  log: Logger;
  quota: QuotaKeeper;
  parking: ParkingStore;
  counts: OutboxCounts;
  alarms: OutboxAlarms;
  append: (drafts: EventDraft[]) => Promise<EdgeEvent[]>;
  closed: () => boolean;
}

export class DropNotices {
  private reportTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: DropNoticeDeps) {}

  /** Called once the commit that produced `report` is durable. */
  afterDrops(report: DropReport): void {
    const { counts, quota } = this.d;
    // the quota may also drop parked rows (undelivered): keep the two counts apart
    const parkedBefore = counts.parked;
    if (parkedBefore > 0 && report.pendingDropped > 0) counts.parked = this.d.parking.count();
    counts.pending -= report.pendingDropped - (parkedBefore - counts.parked);
    counts.delivered -= report.deliveredDeleted;
    if (report.pendingDropped === 0) return;
    quota.noteRanges(report.ranges);
    this.d.log.warn(
      { dropped: report.byPriority, bytes: quota.bytes, maxBytes: quota.maxBytes },
      'outbox quota reached: pending events dropped',
    );
    if (report.byPriority[2] > 0) {
      this.d.alarms.raise({
        code: 'EDGE_OUTBOX_QUOTA',
        message: `outbox quota reached: ${report.byPriority[2]} undelivered records dropped`,
        details: { dropped: report.byPriority, ranges: report.ranges },
      });
    }
    // announce drops on the events stream at most once a second, so the platform can tell a
    // quota gap from a transport gap
    if (!this.reportTimer && !this.d.closed()) {
      this.reportTimer = setTimeout(() => {
        this.reportTimer = null;
        this.announce();
      }, 1000);
      this.reportTimer.unref();
    }
  }

  /** Append the `outbox.dropped` summary of drops not announced yet (none: nothing). */
  announce(): void {
    const summary = this.d.quota.takeUnannounced();
    if (!summary || this.d.closed()) return;
    this.d
      .append([eventDraft('outbox.dropped', null, this.d.clock.monoMs(), summary)])
      .catch((err: unknown) => this.d.log.error({ err }, 'drop announcement not recorded'));
  }

  stop(): void {
    if (this.reportTimer) clearTimeout(this.reportTimer);
  }
}
