import type { EngineInput } from '../../edge/engine/types.js';
import type { EventHeap } from './event-heap.js';
import type { LineItem, LineModelOptions } from './line-model-types.js';
import { between, exponentialMs } from './random.js';

/**
 * The simulated belt's motion: a piecewise-constant speed profile (live speed changes,
 * controlled stops and E-stops), grown lazily as far as the odometer is asked about, with the
 * drive's speed and the PLC's line-state inputs it causes pushed to the model's event heap.
 */

interface Segment {
  t: number;
  mm: number;
  v: number; // mm per ms
  state: 'running' | 'stopped' | 'estop';
}

export class BeltProfile {
  private readonly profile: Segment[] = [];
  private readonly nominal: number;
  private liveSpeed: number;
  private readonly next: { speed: number; stop: number; estop: number };

  constructor(
    private readonly o: LineModelOptions,
    beltSpeedMmPerS: number,
    private readonly random: () => number,
    private readonly heap: EventHeap<LineItem>,
  ) {
    this.nominal = beltSpeedMmPerS / 1000;
    this.liveSpeed = this.nominal;
    this.profile.push({ t: 0, mm: 0, v: this.nominal, state: 'running' });
    const f = o.faults;
    this.next = {
      speed: this.exp(f.speedChangeEveryS),
      stop: this.exp(f.stopEveryS),
      estop: this.exp(f.estopEveryS),
    };
  }

  private exp(meanS: number): number {
    return exponentialMs(this.random, meanS);
  }

  /** The belt as it is at `t` (for a restarted gateway's drivers to report). */
  stateAt(t: number): { mmPerS: number; lineState: 'running' | 'stopped' | 'estop' } {
    const s = this.segmentAt(t);
    const running = this.profile.filter((x) => x.t <= t && x.v > 0).at(-1);
    return { mmPerS: (running?.v ?? this.nominal) * 1000, lineState: s.state };
  }

  private segmentAt(t: number): Segment {
    const p = this.profile;
    for (let i = p.length - 1; i >= 0; i--) if ((p[i] as Segment).t <= t) return p[i] as Segment;
    return p[0] as Segment;
  }

  /** True belt odometer at time t. */
  mmAt(t: number): number {
    const s = this.segmentAt(t);
    return s.mm + (t - s.t) * s.v;
  }

  /** When the odometer reaches mm (extends the profile as needed). */
  timeAtMm(mm: number): number {
    this.extendTo(mm);
    const p = this.profile;
    for (let i = p.length - 1; i >= 0; i--) {
      const s = p[i] as Segment;
      if (s.mm <= mm && s.v > 0) return s.t + (mm - s.mm) / s.v;
      if (s.mm <= mm && s.v === 0 && s.mm === mm) return s.t;
    }
    return 0;
  }

  private push(t: number, input: EngineInput): void {
    this.heap.push(t, { kind: 'input', input });
  }

  /** Grow the speed profile (with its line events) until the odometer passes `mm`. */
  private extendTo(mm: number): void {
    const f = this.o.faults;
    for (;;) {
      const last = this.profile[this.profile.length - 1] as Segment;
      const t = Math.min(this.next.speed, this.next.stop, this.next.estop);
      const endMm = last.mm + (t - last.t) * last.v;
      if (endMm >= mm || !Number.isFinite(t)) return;
      if (t === this.next.speed) {
        this.next.speed = t + this.exp(f.speedChangeEveryS);
        this.liveSpeed = this.nominal * (1 + (this.random() * 2 - 1) * f.speedJitter);
        this.profile.push({ t, mm: endMm, v: this.liveSpeed, state: 'running' });
        this.push(t, {
          type: 'beltSpeed',
          deviceId: this.o.devices.driveId,
          atMono: t,
          mmPerS: this.liveSpeed * 1000,
        });
        continue;
      }
      const estop = t === this.next.estop;
      const range = estop ? f.estopMs : f.stopMs;
      const d = between(this.random, range.min, range.max);
      const state = estop ? 'estop' : 'stopped';
      if (estop) this.next.estop = t + d + this.exp(f.estopEveryS);
      else this.next.stop = t + d + this.exp(f.stopEveryS);
      // the other line events cannot happen while stopped
      this.next.speed = Math.max(this.next.speed, t + d + 1);
      this.next.stop = Math.max(this.next.stop, t + d + 1);
      this.next.estop = Math.max(this.next.estop, t + d + 1);
      this.profile.push(
        { t, mm: endMm, v: 0, state },
        { t: t + d, mm: endMm, v: this.liveSpeed, state: 'running' },
      );
      const plc = this.o.devices.plcId;
      this.push(t, { type: 'lineState', deviceId: plc, atMono: t, state });
      this.push(t + d, { type: 'lineState', deviceId: plc, atMono: t + d, state: 'running' });
    }
  }
}
