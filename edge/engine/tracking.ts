/**
 * The belt odometer: millimetres of belt travel as a function of monotonic time. Every tracked
 * parcel stores the odometer reading at its induction, so its position at any moment is
 * `mmAt(t) - startMm`. Two sources:
 * - time-based: the odometer integrates the belt speed (nominal from config, or a live
 *   BeltSpeedInput), 0 while the line is stopped; a speed change just starts a new segment, so
 *   nothing needs to be recomputed per parcel.
 * - encoder: the odometer is counts x mm per count; between samples it is interpolated, after
 *   the last sample extrapolated with the last measured speed for at most `staleMs`.
 * A short history of breakpoints lets events that carry a past time (a CT verdict names the
 * moment of the scan) be placed where the belt was then.
 */

interface Breakpoint {
  mono: number;
  mm: number;
  /** mm per ms from this point on (extrapolation) */
  speed: number;
}

export interface BeltTrackerOptions {
  mode: 'time' | 'encoder';
  nominalMmPerS: number;
  mmPerCount: number;
  staleMs: number;
  /** how much history to keep for matching past events */
  horizonMs: number;
}

export class BeltTracker {
  private bps: Breakpoint[] = [];
  private head = 0;
  private running = true;
  private liveSpeed: number;
  private baseCount: number | null = null;
  private lastCount: number | null = null;
  private lastSampleMono: number | null = null;
  private resumedAt = -Infinity;

  constructor(
    private readonly o: BeltTrackerOptions,
    startMono: number,
  ) {
    this.liveSpeed = o.nominalMmPerS / 1000;
    this.bps.push({ mono: startMono, mm: 0, speed: o.mode === 'time' ? this.liveSpeed : 0 });
  }

  get isRunning(): boolean {
    return this.running;
  }

  private last(): Breakpoint {
    return this.bps[this.bps.length - 1] as Breakpoint;
  }

  /** Current speed used for predictions, mm per ms (0 while stopped). */
  speedNow(): number {
    return this.last().speed;
  }

  mmAt(mono: number): number {
    const bps = this.bps;
    const last = this.last();
    if (mono >= last.mono) {
      let dt = mono - last.mono;
      if (this.o.mode === 'encoder') dt = Math.min(dt, this.o.staleMs);
      return last.mm + dt * last.speed;
    }
    // binary search the segment [i, i+1] holding mono
    let lo = this.head;
    let hi = bps.length - 1;
    const first = bps[lo] as Breakpoint;
    if (mono <= first.mono) return first.mm - (first.mono - mono) * first.speed;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((bps[mid] as Breakpoint).mono <= mono) lo = mid;
      else hi = mid;
    }
    const a = bps[lo] as Breakpoint;
    const b = bps[hi] as Breakpoint;
    if (b.mono === a.mono) return b.mm;
    return a.mm + ((mono - a.mono) * (b.mm - a.mm)) / (b.mono - a.mono);
  }

  /** Predicted moment the odometer reads `mm`; null when the belt is not moving. */
  monoWhen(mm: number): number | null {
    const last = this.last();
    if (mm >= last.mm) {
      if (last.speed <= 0) return null;
      return last.mono + (mm - last.mm) / last.speed;
    }
    for (let i = this.bps.length - 1; i > this.head; i--) {
      const a = this.bps[i - 1] as Breakpoint;
      const b = this.bps[i] as Breakpoint;
      if (a.mm <= mm && mm <= b.mm) {
        return b.mm === a.mm ? a.mono : a.mono + ((mm - a.mm) * (b.mono - a.mono)) / (b.mm - a.mm);
      }
    }
    const first = this.bps[this.head] as Breakpoint;
    return first.speed > 0 ? first.mono - (first.mm - mm) / first.speed : first.mono;
  }

  private push(mono: number, mm: number, speed: number): void {
    const last = this.last();
    const at = Math.max(mono, last.mono);
    if (at === last.mono) {
      last.mm = mm;
      last.speed = speed;
    } else {
      this.bps.push({ mono: at, mm, speed });
    }
    this.trim(at);
  }

  private trim(now: number): void {
    const limit = now - this.o.horizonMs;
    while (this.head < this.bps.length - 2 && (this.bps[this.head + 1] as Breakpoint).mono < limit)
      this.head++;
    if (this.head > 512) {
      this.bps = this.bps.slice(this.head);
      this.head = 0;
    }
  }

  /** Time-based tracking: a live speed signal. */
  setSpeed(mono: number, mmPerS: number): void {
    this.liveSpeed = Math.max(0, mmPerS) / 1000;
    if (this.o.mode !== 'time') return;
    const at = Math.max(mono, this.last().mono);
    this.push(at, this.mmAt(at), this.running ? this.liveSpeed : 0);
  }

  /** Line stopped / restarted. Time-based tracking freezes; encoder tracking stops extrapolating. */
  setRunning(mono: number, running: boolean): void {
    if (running && !this.running) this.resumedAt = mono;
    this.running = running;
    const at = Math.max(mono, this.last().mono);
    const speed = this.o.mode === 'time' ? (running ? this.liveSpeed : 0) : 0;
    this.push(at, this.mmAt(at), speed);
  }

  /**
   * Encoder tracking: a count sample. Returns a reason when the count is not continuous (it went
   * backwards: a PLC restart or counter reset; or jumped further than any belt could move): the
   * positions of every parcel on the belt are then unknown. Tracking carries on from the current
   * position with the new count as its base.
   */
  encoder(mono: number, count: number): string | null {
    if (this.o.mode !== 'encoder') return null;
    if (this.baseCount === null) this.baseCount = count;
    let discontinuity: string | null = null;
    if (this.lastCount !== null) {
      const dt = Math.max(0, mono - (this.lastSampleMono ?? mono));
      const stepMm = (count - this.lastCount) * this.o.mmPerCount;
      // 5 m/s is the schema's highest belt speed; twice that plus 0.5 m is beyond any real belt
      const plausibleMm = 10 * dt + 500;
      if (stepMm < 0 || stepMm > plausibleMm) {
        discontinuity =
          stepMm < 0
            ? `encoder count went backwards (${this.lastCount} -> ${count}): counter reset`
            : `encoder count jumped ${Math.round(stepMm)} mm in ${Math.round(dt)} ms`;
        // continue from where the belt was: the new count maps to the current position
        this.baseCount = count - this.mmAt(mono) / this.o.mmPerCount;
      }
    }
    this.lastCount = count;
    const mm = (count - this.baseCount) * this.o.mmPerCount;
    // speed over the last ~200 ms: one sample apart is too coarse (count quantization)
    let ref = this.last();
    for (let i = this.bps.length - 1; i >= this.head; i--) {
      ref = this.bps[i] as Breakpoint;
      if (mono - ref.mono >= 200) break;
    }
    const dt = mono - ref.mono;
    let speed = dt > 0 ? Math.max(0, (mm - ref.mm) / dt) : this.last().speed;
    // just after a restart the window still holds the stop: predict with the nominal speed
    if (mono - this.resumedAt < 200 && mm > ref.mm) speed = Math.max(speed, this.liveSpeed);
    this.lastSampleMono = Math.max(mono, this.lastSampleMono ?? mono);
    if (discontinuity) speed = this.last().speed;
    this.push(mono, discontinuity ? this.mmAt(mono) : mm, this.running ? speed : 0);
    return discontinuity;
  }

  /** Encoder mode: the moment tracking is lost if no further sample arrives (null: not armed). */
  staleAtMono(): number | null {
    if (this.o.mode !== 'encoder' || !this.running) return null;
    const since = this.lastSampleMono ?? (this.bps[this.head] as Breakpoint).mono;
    return since + this.o.staleMs;
  }
}
