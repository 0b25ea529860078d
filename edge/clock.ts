/**
 * Time sources. `monoMs` is CLOCK_MONOTONIC in milliseconds (process.hrtime), which is the same
 * clock in every process on the machine, so the gateway and the gate-controller process can
 * exchange scheduled times directly. `wallMs` is the wall clock (epoch ms), only for records.
 */
export interface Clock {
  monoMs: () => number;
  wallMs: () => number;
}

export const systemClock: Clock = {
  monoMs: () => Number(process.hrtime.bigint()) / 1e6,
  wallMs: () => Date.now(),
};

/** A clock moved by hand, for pure logic tests. */
export class ManualClock implements Clock {
  constructor(
    private mono = 0,
    private wallOffset = Date.UTC(2026, 0, 1),
  ) {}
  monoMs = (): number => this.mono;
  wallMs = (): number => this.wallOffset + this.mono;
  advance(ms: number): void {
    this.mono += ms;
  }
  set(ms: number): void {
    this.mono = ms;
  }
}
