import type { CtVerdict, EngineConfig, EngineInput } from '../../edge/engine/types.js';
import { makeS10 } from '../../edge/identifiers/s10.js';
import { EventHeap } from './event-heap.js';
import { between, seededRandom } from './random.js';

/**
 * A simulated customs line as a pure generator: no timers, no clock. `next()` returns the next
 * device input in time order (or a gateway-restart marker), so the same model runs a million
 * parcels in simulated time (tests, soak, bench) or live, paced by a real clock (the
 * simulated-line driver). The belt motion is a piecewise-constant speed profile with live speed
 * changes, controlled stops and E-stops; every parcel is placed on the belt odometer, so device
 * crossings stay right through stops. Ground truth is kept per parcel for the checks.
 */

export interface LineModelOptions {
  seed: number;
  /** stop after this many parcels */
  parcels: number;
  /** mean distance from one leading edge to the next, mm (gap jittered by `gapJitter`) */
  pitchMm: number;
  gapJitter: number;
  parcelLengthMm: { min: number; max: number };
  noReadRate: number;
  invalidIdRate: number;
  suspectRate: number;
  unknownRate: number;
  /** share of parcels whose waybill is on the targeting list */
  targetedRate: number;
  verdictDelayMs: { min: number; max: number };
  weightKg?: { min: number; max: number; outOfRangeRate: number; missingRate: number };
  faults: {
    lateVerdictRate: number;
    missingVerdictRate: number;
    doubleReadRate: number;
    lostPulseRate: number;
    /** mean seconds between events (0 = never) */
    speedChangeEveryS: number;
    speedJitter: number;
    stopEveryS: number;
    stopMs: { min: number; max: number };
    estopEveryS: number;
    estopMs: { min: number; max: number };
    ctLinkLossEveryS: number;
    ctLinkLossMs: { min: number; max: number };
    gatewayRestartEveryS: number;
    gatewayRestartMs: { min: number; max: number };
  };
  devices: { scannerId: string; ctId: string; scaleId: string; plcId: string; driveId: string };
  /** emit encoder counts (encoder tracking) every `periodMs` */
  encoder?: { deviceId: string; mmPerCount: number; periodMs: number };
}

export const NO_FAULTS: LineModelOptions['faults'] = {
  lateVerdictRate: 0,
  missingVerdictRate: 0,
  doubleReadRate: 0,
  lostPulseRate: 0,
  speedChangeEveryS: 0,
  speedJitter: 0,
  stopEveryS: 0,
  stopMs: { min: 0, max: 0 },
  estopEveryS: 0,
  estopMs: { min: 0, max: 0 },
  ctLinkLossEveryS: 0,
  ctLinkLossMs: { min: 0, max: 0 },
  gatewayRestartEveryS: 0,
  gatewayRestartMs: { min: 0, max: 0 },
};

export interface ParcelTruth {
  index: number;
  /** belt odometer at the leading edge's induction */
  startMm: number;
  inductedAtMono: number;
  lengthMm: number;
  code: string;
  codeRead: 'ok' | 'noread' | 'invalid';
  targeted: boolean;
  verdict: CtVerdict;
  verdictFate: 'in-time' | 'late' | 'missing' | 'lost-in-ct-outage';
  weightKg: number | null;
  weightOk: boolean;
  /** faults that touched this parcel (own faults; the harness adds line-level ones) */
  faults: string[];
}

export type LineItem =
  | { kind: 'input'; input: EngineInput }
  | { kind: 'restart'; downMs: number }
  | { kind: 'parcel'; truth: ParcelTruth };

interface Segment {
  t: number;
  mm: number;
  v: number; // mm per ms
  state: 'running' | 'stopped' | 'estop';
}

export class LineModel {
  private readonly random: () => number;
  private readonly heap = new EventHeap<LineItem>();
  private readonly profile: Segment[] = [];
  private produced = 0;
  private nextStartMm = 200;
  private readonly nominal: number;
  private liveSpeed: number;
  private next: { speed: number; stop: number; estop: number; ct: number; restart: number };
  private faultsUntil = 0;
  private encoderNext = 0;
  private readonly outages: { from: number; to: number }[] = [];
  readonly targetedCodes: string[] = [];

  constructor(
    readonly o: LineModelOptions,
    readonly line: EngineConfig,
  ) {
    this.random = seededRandom(o.seed);
    this.nominal = line.beltSpeedMmPerS / 1000;
    this.liveSpeed = this.nominal;
    this.profile.push({ t: 0, mm: 0, v: this.nominal, state: 'running' });
    const f = o.faults;
    this.next = {
      speed: this.exp(f.speedChangeEveryS),
      stop: this.exp(f.stopEveryS),
      estop: this.exp(f.estopEveryS),
      ct: this.exp(f.ctLinkLossEveryS),
      restart: this.exp(f.gatewayRestartEveryS),
    };
    // a fixed pool of targeted waybills, so the engine's list can be built before the run
    for (let i = 0; i < 64; i++) this.targetedCodes.push(makeS10('EX', this.serial(), 'CN'));
  }

  private exp(meanS: number): number {
    return meanS > 0 ? -Math.log(1 - this.random()) * meanS * 1000 : Infinity;
  }

  private serial(): string {
    return String(Math.floor(this.random() * 1e8)).padStart(8, '0');
  }

  get parcelsProduced(): number {
    return this.produced;
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

  /** CT link losses and gateway restarts, generated ahead of the verdicts they can swallow. */
  private faultsTo(t: number): void {
    const f = this.o.faults;
    while (this.faultsUntil < t) {
      this.faultsUntil = Math.min(t, this.next.ct, this.next.restart);
      if (this.next.ct <= t) {
        const a = this.next.ct;
        const b = a + between(this.random, f.ctLinkLossMs.min, f.ctLinkLossMs.max);
        this.outages.push({ from: a, to: b });
        const ct = this.o.devices.ctId;
        this.push(a, {
          type: 'deviceStatus',
          deviceId: ct,
          atMono: a,
          role: 'ct',
          ok: false,
          reason: 'life bit stopped',
        });
        this.push(b, {
          type: 'deviceStatus',
          deviceId: ct,
          atMono: b,
          role: 'ct',
          ok: true,
          reason: 'life bit back',
        });
        this.next.ct = b + this.exp(f.ctLinkLossEveryS);
      }
      if (this.next.restart <= t) {
        const a = this.next.restart;
        const down = between(this.random, f.gatewayRestartMs.min, f.gatewayRestartMs.max);
        this.heap.push(a, { kind: 'restart', downMs: down });
        this.next.restart = a + down + this.exp(f.gatewayRestartEveryS);
      }
      if (this.outages.length > 64) this.outages.splice(0, this.outages.length - 64);
    }
  }

  ctDownAt(t: number): boolean {
    return this.outages.some((o) => t >= o.from && t < o.to);
  }

  /** Time of the next item (Infinity when done). */
  peekTime(): number {
    this.fill();
    this.encoderTo(this.heap.peekTime());
    return this.heap.peekTime();
  }

  nextItem(): { t: number; item: LineItem } | null {
    this.fill();
    this.encoderTo(this.heap.peekTime());
    const e = this.heap.pop();
    return e ? { t: e.t, item: e.v } : null;
  }

  private encoderTo(until: number): void {
    const e = this.o.encoder;
    if (!e) return;
    let t = until;
    if (!Number.isFinite(t)) {
      // after the last item: keep the encoder running until the last parcel has left the line
      const gates = [this.line.lanes.inspection, this.line.lanes.pass, this.line.lanes.exception];
      const end = this.nextStartMm + Math.max(...gates.map((g) => g.positionMm)) + 2000;
      t = Math.min(this.timeAtMm(end), this.encoderNext);
      if (this.mmAt(this.encoderNext) > end) return;
    }
    while (this.encoderNext <= t) {
      const at = this.encoderNext;
      const count = Math.floor(this.mmAt(at) / e.mmPerCount);
      this.push(at, { type: 'encoder', deviceId: e.deviceId, atMono: at, count });
      this.encoderNext += e.periodMs;
    }
  }

  /** Generate parcels until the next induction lies after the earliest pending item. */
  private fill(): void {
    while (this.produced < this.o.parcels) {
      const t = this.timeAtMm(this.nextStartMm);
      if (this.heap.size > 0 && t > this.heap.peekTime()) return;
      this.generateParcel();
    }
  }

  private generateParcel(): void {
    const o = this.o;
    const f = o.faults;
    const L = this.line;
    const r = this.random;
    const startMm = this.nextStartMm;
    const len = between(r, o.parcelLengthMm.min, o.parcelLengthMm.max);
    const gap = Math.max(120, (o.pitchMm - len) * (1 + (r() * 2 - 1) * o.gapJitter));
    this.nextStartMm = startMm + len + gap;
    const at = (mm: number) => this.timeAtMm(startMm + mm);
    const t0 = at(0);
    const index = this.produced++;
    const faults: string[] = [];

    const targeted = r() < o.targetedRate;
    const code = targeted
      ? (this.targetedCodes[Math.floor(r() * this.targetedCodes.length)] as string)
      : makeS10('RD', this.serial(), 'CN');
    const x = r();
    const codeRead =
      x < o.noReadRate ? 'noread' : x < o.noReadRate + o.invalidIdRate ? 'invalid' : 'ok';
    const v = r();
    const verdict: CtVerdict =
      v < o.suspectRate ? 'suspect' : v < o.suspectRate + o.unknownRate ? 'unknown' : 'clear';

    // photo-eye edges (either may be lost)
    const pe = L.inductionPhotoEyeId;
    if (r() < f.lostPulseRate / 2) faults.push('lost-leading-pulse');
    else this.push(t0, { type: 'photoEye', deviceId: pe, atMono: t0, edge: 'leading' });
    const t1 = at(len);
    if (r() < f.lostPulseRate / 2) faults.push('lost-trailing-pulse');
    else this.push(t1, { type: 'photoEye', deviceId: pe, atMono: t1, edge: 'trailing' });

    // barcode
    const readAt = at(L.scanner.positionMm + len / 2);
    const scanner = o.devices.scannerId;
    const readCode =
      codeRead === 'noread' ? null : codeRead === 'invalid' ? code.slice(0, 10) + 'XX' : code;
    this.push(readAt, {
      type: 'barcode',
      deviceId: scanner,
      atMono: readAt,
      code: readCode,
      valid: codeRead === 'ok',
    });
    if (codeRead === 'ok' && r() < f.doubleReadRate) {
      faults.push('double-read');
      this.push(readAt + 30, {
        type: 'barcode',
        deviceId: scanner,
        atMono: readAt + 30,
        code: readCode,
        valid: true,
      });
    }

    // weight
    let weightKg: number | null = null;
    let weightOk = true;
    const w = o.weightKg;
    if (w && L.scale) {
      const y = r();
      weightKg =
        y < w.missingRate
          ? null
          : y < w.missingRate + w.outOfRangeRate
            ? w.max * 2
            : between(r, w.min, w.max);
      weightOk = weightKg !== null && weightKg <= w.max;
      const wAt = at(L.scale.positionMm + len / 2);
      this.push(wAt, {
        type: 'weight',
        deviceId: o.devices.scaleId,
        atMono: wAt,
        kg: weightKg,
        status: weightKg === null ? 'error' : 'stable',
      });
    }

    // CT verdict
    const scannedAt = at(L.ct.positionMm + len / 2);
    const gates = [L.lanes.exception, L.lanes.pass, ...(L.outlets ?? [])].map((l) => l.positionMm);
    const deadline = at(Math.min(...gates)) - L.decision.actuationLeadMs - L.decision.marginMs;
    const z = r();
    let fate: ParcelTruth['verdictFate'] =
      z < f.missingVerdictRate
        ? 'missing'
        : z < f.missingVerdictRate + f.lateVerdictRate
          ? 'late'
          : 'in-time';
    const deliverAt =
      fate === 'late'
        ? deadline + between(r, 50, 3000)
        : Math.min(
            scannedAt + between(r, o.verdictDelayMs.min, o.verdictDelayMs.max),
            deadline - 100,
          );
    this.faultsTo(deliverAt + 1);
    if (fate === 'in-time' && this.ctDownAt(deliverAt)) fate = 'lost-in-ct-outage';
    if (fate !== 'in-time') faults.push(`verdict-${fate}`);
    if (fate === 'in-time' || fate === 'late') {
      const scanId = `CT${String(index).padStart(9, '0')}`;
      this.heap.push(deliverAt, {
        kind: 'input',
        input: {
          type: 'ctVerdict',
          deviceId: o.devices.ctId,
          scannedAtMono: scannedAt,
          verdict,
          scanId,
          imageId: `IMG-${scanId}`,
        },
      });
    }
    const truth: ParcelTruth = {
      index,
      startMm,
      inductedAtMono: t0,
      lengthMm: len,
      code,
      codeRead,
      targeted,
      verdict,
      verdictFate: fate,
      weightKg,
      weightOk,
      faults,
    };
    this.heap.push(t0, { kind: 'parcel', truth });
  }
}
