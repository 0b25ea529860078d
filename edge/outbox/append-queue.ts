import type { EdgeEvent, EventDraft } from '../events/model.js';

/**
 * Grouped commits: every append waits in this queue until the next turn of the event loop
 * (setImmediate), then the queue is written in batches of at most `batchMaxRows` rows per
 * transaction (an append larger than that is written alone, never split).
 */

export interface PendingAppend {
  drafts: EventDraft[];
  resolve: (events: EdgeEvent[]) => void;
  reject: (err: unknown) => void;
}

export class AppendQueue {
  private readonly queue: PendingAppend[] = [];
  private flushScheduled = false;

  constructor(
    private readonly batchMaxRows: number,
    /** writes one batch in one transaction, settling every append in it */
    private readonly writeBatch: (batch: PendingAppend[]) => void,
  ) {}

  /** Queue non-empty drafts; resolves with the stored events once their batch has committed. */
  push(drafts: EventDraft[]): Promise<EdgeEvent[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ drafts, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Write everything queued now, in batches of at most batchMaxRows rows per transaction. */
  flush(): void {
    this.flushScheduled = false;
    while (this.queue.length > 0) {
      const batch: PendingAppend[] = [];
      let rows = 0;
      while (
        this.queue.length > 0 &&
        (rows === 0 || rows + this.queue[0]!.drafts.length <= this.batchMaxRows)
      ) {
        const w = this.queue.shift()!;
        batch.push(w);
        rows += w.drafts.length;
      }
      this.writeBatch(batch);
    }
  }
}
