import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import type { EdgeEvent, EventDraft } from '../events/model.js';
import type { OutboxAlarms } from './alarms.js';
import type { ParkingStore } from './parking.js';
import type { DropRange, DropReport, QuotaKeeper } from './quota.js';
import type { OutboxCounts } from './stats.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * What follows a commit whose quota enforcement deleted or dropped rows: the row counts are
 * corrected (parked rows apart from pending ones), dropped records raise EDGE_OUTBOX_QUOTA, and
 * the drops are announced on the events stream (`outbox.dropped`, at most once a second), so the
 * platform can tell a quota gap from a transport gap. Events lost to a full disk (never stored,
 * their seqs skipped) follow the same path with EDGE_OUTBOX_FULL (`afterLost`). An announcement
 * that cannot be recorded (the disk still full) is kept and sent with the next one.
 */

export interface DropNoticeDeps {
  clock: Clock;
  log: Logger;
  quota: QuotaKeeper;
  parking: ParkingStore;
  counts: OutboxCounts;
  alarms: OutboxAlarms;
  append: (drafts: EventDraft[]) => Promise<EdgeEvent[]>;
  /** undelivered events dropped or lost, by priority (the outbox's condition) */
  dropped: (byPriority: readonly number[]) => void;
  closed: () => boolean;
}

export class DropNotices {
  private reportTimer: TimerHandle | null = null;

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
    this.d.dropped(report.byPriority);
    this.d.log.warn(
      {
        dropped: report.byPriority,
        bytes: quota.bytes,
        limit: quota.limit,
        limitBy: quota.limitBy,
        maxBytes: quota.maxBytes,
      },
      'outbox quota reached: pending events dropped',
    );
    if (report.byPriority[2] > 0) {
      this.d.alarms.raise({
        code: 'EDGE_OUTBOX_QUOTA',
        message: `outbox quota reached: ${report.byPriority[2]} undelivered records dropped`,
        details: { dropped: report.byPriority, ranges: report.ranges },
      });
    }
    this.announceSoon();
  }

  /**
   * Events that could not be stored (disk full even after making room): counted as dropped with
   * the seq ranges they took, alarmed (EDGE_OUTBOX_FULL), announced. Returns what was noted.
   */
  afterLost(lost: { ranges: DropRange[]; byPriority: number[] }): {
    ranges: DropRange[];
    byPriority: number[];
  } {
    this.d.quota.noteLost(lost.byPriority, lost.ranges);
    this.d.dropped(lost.byPriority);
    this.d.alarms.raise({
      code: 'EDGE_OUTBOX_FULL',
      message: `disk full: ${lost.byPriority.reduce((a, b) => a + b, 0)} events could not be stored`,
      details: { dropped: lost.byPriority, ranges: lost.ranges },
    });
    this.announceSoon();
    return lost;
  }

  /**
   * Announce drops on the events stream at most once a second, so the platform can tell a
   * quota gap from a transport gap.
   */
  private announceSoon(): void {
    if (!this.reportTimer && !this.d.closed()) {
      this.reportTimer = this.d.clock.setTimer(
        () => {
          this.reportTimer = null;
          this.announce();
        },
        1000,
        { unref: true },
      );
    }
  }

  /** Append the `outbox.dropped` summary of drops not announced yet (none: nothing). */
  announce(): void {
    const summary = this.d.quota.takeUnannounced();
    if (!summary || this.d.closed()) return;
    this.d
      .append([eventDraft('outbox.dropped', null, this.d.clock.monoMs(), summary)])
      .catch((err: unknown) => {
        // announced with the next one (the announcement's own lost seq is in its ranges)
        this.d.quota.requeue(summary);
        this.d.log.error({ err }, 'drop announcement not recorded');
        this.announceSoon();
      });
  }

  stop(): void {
    this.d.clock.clearTimer(this.reportTimer);
  }
}
