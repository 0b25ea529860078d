/**
 * A device's life bit: a value that must change at least every `timeoutMs`. Pure: the caller
 * feeds observed values and asks `check(nowMono)` on a timer; transitions come back as results.
 * Starts 'unknown': the device is declared lost only after it was seen alive or after a first
 * full timeout without any change (a life bit that never toggles is a lost device too).
 */
export type LifeBitState = 'unknown' | 'alive' | 'lost';

export interface LifeBitTransition {
  ok: boolean;
  reason: string;
}

export class LifeBitWatch {
  private state: LifeBitState = 'unknown';
  private lastValue: unknown = undefined;
  private lastChangeMono: number;

  constructor(
    readonly timeoutMs: number,
    startMono: number,
  ) {
    this.lastChangeMono = startMono;
  }

  get current(): LifeBitState {
    return this.state;
  }

  /** Restart the timeout (e.g. after a reconnect) without declaring anything. */
  reset(nowMono: number): void {
    this.lastChangeMono = nowMono;
    this.lastValue = undefined;
  }

  observe(value: unknown, nowMono: number): LifeBitTransition | null {
    const first = this.lastValue === undefined;
    const changed = !first && value !== this.lastValue;
    this.lastValue = value;
    if (first) return null; // the initial value of a subscription proves nothing
    if (!changed) return null;
    this.lastChangeMono = nowMono;
    if (this.state !== 'alive') {
      const was = this.state;
      this.state = 'alive';
      return { ok: true, reason: was === 'lost' ? 'life bit resumed' : 'life bit toggling' };
    }
    return null;
  }

  check(nowMono: number): LifeBitTransition | null {
    if (this.state === 'lost') return null;
    if (nowMono - this.lastChangeMono < this.timeoutMs) return null;
    this.state = 'lost';
    return { ok: false, reason: `life bit unchanged for ${this.timeoutMs} ms` };
  }

  /** The connection dropped: whatever the bit did, the device is not reachable. */
  connectionLost(reason: string): LifeBitTransition | null {
    if (this.state === 'lost') return null;
    this.state = 'lost';
    return { ok: false, reason };
  }
}
