import type { Stream } from '../events/model.js';

/**
 * A replay in progress (the `replay` command): stored events of one stream from `nextSeq` to
 * `toSeq`, re-sent with `replay: true`, paced by a token bucket so a replay never floods the link
 * or starves the live stream (live events always fill the in-flight window first).
 */
export class ReplayCursor {
  nextSeq: number;
  remaining: number;
  sent = 0;
  private tokens: number;
  private lastRefill: number;

  constructor(
    readonly stream: Stream,
    fromSeq: number,
    readonly toSeq: number,
    maxEvents: number,
    private readonly eventsPerS: number,
    nowMs: number,
  ) {
    this.nextSeq = fromSeq;
    this.remaining = maxEvents;
    this.tokens = Math.min(eventsPerS, 100);
    this.lastRefill = nowMs;
  }

  /** How many events may be sent now. */
  allowance(nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.lastRefill);
    this.lastRefill = nowMs;
    this.tokens = Math.min(this.eventsPerS, this.tokens + (elapsed * this.eventsPerS) / 1000);
    return Math.min(this.remaining, Math.floor(this.tokens));
  }

  consume(n: number, lastSeq: number): void {
    this.tokens -= n;
    this.remaining -= n;
    this.sent += n;
    this.nextSeq = lastSeq + 1;
  }

  /** ms until one more token is available */
  waitMs(): number {
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.eventsPerS));
  }

  get done(): boolean {
    return this.remaining <= 0 || this.nextSeq > this.toSeq;
  }
}
