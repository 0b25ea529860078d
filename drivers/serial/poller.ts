/**
 * Polled devices (MT-SICS scales) as a pure request/response state machine: one request in
 * flight at a time, a response timeout, a number of retries, a poll interval. Technician test
 * commands queue ahead of the next poll. Time comes in as arguments (monotonic ms), so tests
 * drive it with a manual clock; the driver calls tick() at deadline() and on each response.
 */
export interface PollerOptions {
  /** the periodic command (S or SI for MT-SICS); null: only explicit requests */
  command: string | null;
  intervalMs: number;
  timeoutMs: number;
  /** resends after the first attempt before the request fails */
  retries: number;
}

export type PollPurpose = 'poll' | 'test';

export type PollAction =
  | { type: 'send'; requestId: number; command: string; attempt: number; purpose: PollPurpose }
  | {
      type: 'answered';
      requestId: number;
      command: string;
      purpose: PollPurpose;
      latencyMs: number;
      attempt: number;
    }
  | {
      type: 'failed';
      requestId: number;
      command: string;
      purpose: PollPurpose;
      reason: 'timeout' | 'cancelled';
      attempts: number;
    };

interface Request {
  id: number;
  command: string;
  purpose: PollPurpose;
  attempt: number;
  sentAt: number;
}

export class PollStateMachine {
  private inFlight: Request | null = null;
  private readonly queue: Request[] = [];
  private nextPollAt: number;
  private seq = 0;
  /** requests (polls or tests) that failed after all retries, since the last answer */
  consecutiveFailures = 0;

  constructor(
    private readonly o: PollerOptions,
    nowMs: number,
  ) {
    this.nextPollAt = nowMs;
  }

  get busy(): boolean {
    return this.inFlight !== null;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queue an explicit command (a technician's test); returns its id. */
  request(command: string, purpose: PollPurpose = 'test'): number {
    const id = ++this.seq;
    this.queue.push({ id, command, purpose, attempt: 0, sentAt: 0 });
    return id;
  }

  /** Advance to `nowMs`: resend or fail a timed-out request, then start the next one. */
  tick(nowMs: number): PollAction[] {
    const out: PollAction[] = [];
    const r = this.inFlight;
    if (r && nowMs - r.sentAt >= this.o.timeoutMs) {
      if (r.attempt <= this.o.retries) {
        r.attempt++;
        r.sentAt = nowMs;
        out.push({
          type: 'send',
          requestId: r.id,
          command: r.command,
          attempt: r.attempt,
          purpose: r.purpose,
        });
        return out;
      }
      this.inFlight = null;
      this.consecutiveFailures++;
      out.push({
        type: 'failed',
        requestId: r.id,
        command: r.command,
        purpose: r.purpose,
        reason: 'timeout',
        attempts: r.attempt,
      });
    }
    if (this.inFlight) return out;
    let next = this.queue.shift();
    if (!next && this.o.command !== null && nowMs >= this.nextPollAt) {
      next = { id: ++this.seq, command: this.o.command, purpose: 'poll', attempt: 0, sentAt: 0 };
      this.nextPollAt = nowMs + this.o.intervalMs;
    }
    if (next) {
      next.attempt = 1;
      next.sentAt = nowMs;
      this.inFlight = next;
      out.push({
        type: 'send',
        requestId: next.id,
        command: next.command,
        attempt: 1,
        purpose: next.purpose,
      });
    }
    return out;
  }

  /** A response frame arrived: it answers the request in flight (null if none: unsolicited). */
  response(nowMs: number): PollAction | null {
    const r = this.inFlight;
    if (!r) return null;
    this.inFlight = null;
    this.consecutiveFailures = 0;
    return {
      type: 'answered',
      requestId: r.id,
      command: r.command,
      purpose: r.purpose,
      latencyMs: nowMs - r.sentAt,
      attempt: r.attempt,
    };
  }

  /** When tick() next has work (monotonic ms). */
  deadline(): number {
    if (this.inFlight) return this.inFlight.sentAt + this.o.timeoutMs;
    if (this.queue.length > 0) return -Infinity;
    return this.o.command === null ? Infinity : this.nextPollAt;
  }

  /** The link went down: every request in flight or queued fails as cancelled. */
  cancelAll(nowMs: number): PollAction[] {
    const all = [...(this.inFlight ? [this.inFlight] : []), ...this.queue.splice(0)];
    this.inFlight = null;
    this.nextPollAt = nowMs;
    return all.map((r) => ({
      type: 'failed',
      requestId: r.id,
      command: r.command,
      purpose: r.purpose,
      reason: 'cancelled',
      attempts: r.attempt,
    }));
  }
}
