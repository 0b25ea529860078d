import type { CtVerdict, EngineConfig, EngineInput } from '../../edge/engine/types.js';
import { makeS10 } from '../../edge/identifiers/s10.js';
import { BeltProfile } from './belt-profile.js';
import { EventHeap } from './event-heap.js';
import { LineOutages } from './line-outages.js';
import type { LineItem, LineModelOptions, ParcelTruth } from './line-model-types.js';
import { between, seededRandom } from './random.js';

export {
  NO_FAULTS,
  type LineItem,
  type LineModelOptions,
  type ParcelTruth,
} from './line-model-types.js';

/**
 * A simulated customs line as a pure generator: no timers, no clock. `next()` returns the next
 * device input in time order (or a gateway-restart marker), so the same model runs a million
 * parcels in simulated time (tests, soak, bench) or live, paced by a real clock (the
 * simulated-line driver). The belt motion is a piecewise-constant speed profile with live speed
 * changes, controlled stops and E-stops; every parcel is placed on the belt odometer, so device
 * crossings stay right through stops (belt-profile.ts); CT link losses and gateway restarts
 * come from line-outages.ts. Ground truth is kept per parcel for the checks.
 */

export class LineModel {
  private readonly random: () => number;
  private readonly heap = new EventHeap<LineItem>();
  private readonly belt: BeltProfile;
  private readonly outages: LineOutages;
  private produced = 0;
  private nextStartMm = 200;
  private encoderNext = 0;
  readonly targetedCodes: string[] = [];

  constructor(
    readonly o: LineModelOptions,
    readonly line: EngineConfig,
  ) {
    this.random = seededRandom(o.seed);
    // the order of construction is the order of the random draws: keep it (seeded runs repeat)
    this.belt = new BeltProfile(o, line.beltSpeedMmPerS, this.random, this.heap);
    this.outages = new LineOutages(o, this.random, this.heap);
    // a fixed pool of targeted waybills, so the engine's list can be built before the run
    for (let i = 0; i < 64; i++) this.targetedCodes.push(makeS10('EX', this.serial(), 'CN'));
  }

  private serial(): string {
    return String(Math.floor(this.random() * 1e8)).padStart(8, '0');
  }

  get parcelsProduced(): number {
    return this.produced;
  }

  /** The belt as it is at `t` (for a restarted gateway's drivers to report). */
  stateAt(t: number): { mmPerS: number; lineState: 'running' | 'stopped' | 'estop' } {
    return this.belt.stateAt(t);
  }

  /** True belt odometer at time t. */
  mmAt(t: number): number {
    return this.belt.mmAt(t);
  }

  /** When the odometer reaches mm (extends the profile as needed). */
  timeAtMm(mm: number): number {
    return this.belt.timeAtMm(mm);
  }

  private push(t: number, input: EngineInput): void {
    this.heap.push(t, { kind: 'input', input });
  }

  ctDownAt(t: number): boolean {
    return this.outages.ctDownAt(t);
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
    this.outages.faultsTo(deliverAt + 1);
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
