import { DataType } from 'node-opcua';
import { makeS10 } from '../../../edge/identifiers/s10.js';
import type { SimNodes } from './sim-address-space.js';
import type { SorterSim } from './sorter-sim.js';

/**
 * Parcels through the simulated line, in real time: the induction photo-eye (the sorter PLC
 * gives the parcel its tracking id at the same moment), the barcode reader, the CT (a review
 * result by waybill after the review delay, or a scan-complete event with its scan time), and the
 * sorter's decision point, where the PLC sorts it to its destination or its default.
 *
 * Kinds: clear, suspect, unknown (CT verdicts), unread (no barcode read), invalid (a misread:
 * wrong S10 check digit), late (the verdict comes after the decision point), missing (none).
 */

export const PARCEL_KINDS = [
  'clear',
  'suspect',
  'unknown',
  'unread',
  'invalid',
  'late',
  'missing',
] as const;
export type ParcelKind = (typeof PARCEL_KINDS)[number];

export interface FlowGeometry {
  beltMmS: number;
  scannerMm: number;
  ctMm: number;
  parcelMm: number;
  /** the sorter's decision point */
  decisionMm: number;
}

export interface FlowOptions {
  geometry: FlowGeometry;
  /** review result this long after the parcel left the tunnel */
  reviewDelayMs: number;
  /** 'review': CtReviewResultEventType by waybill, no scan time; 'scan': CtScanComplete with ScannedAt */
  ctShape: 'review' | 'scan';
  /** scan shape: the verdict delay range after the scan */
  scanDelayMs: [number, number];
  out(message: Record<string, unknown>): void;
}

const VERDICT: Record<ParcelKind, string> = {
  clear: 'NO_ALARM',
  suspect: 'ALARM',
  unknown: 'UNKNOWN',
  unread: 'NO_ALARM',
  invalid: 'NO_ALARM',
  late: 'NO_ALARM',
  missing: '',
};

export class LineFlow {
  private seq = 0;
  /**
   * What happens on the line, by wall time, done strictly in that order: when this process
   * stalls, a parcel's trailing edge still comes before the next parcel's leading edge
   */
  private readonly queue: { atWall: number; fn: () => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly serialBase = Math.floor(Math.random() * 80_000_000);

  constructor(
    private readonly nodes: SimNodes,
    private readonly sorter: SorterSim,
    private readonly o: FlowOptions,
  ) {}

  private at(atWall: number, fn: () => void): void {
    const item = { atWall, fn };
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1] as { atWall: number }).atWall > atWall) i--;
    this.queue.splice(i, 0, item);
    this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const first = this.queue[0];
    this.timer = first
      ? setTimeout(() => this.drain(), Math.max(0, first.atWall - Date.now()))
      : null;
  }

  private drain(): void {
    this.timer = null;
    while (this.queue.length > 0 && (this.queue[0] as { atWall: number }).atWall <= Date.now())
      this.queue.shift()?.fn();
    this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }

  /**
   * One parcel, inducted at wall time `t0` (default now); returns its waybill and the PLC's
   * tracking id. Everything after is timed from t0, so a late timer of this process shifts when
   * a value is sent, never when it happened.
   */
  parcel(kind: ParcelKind, t0 = Date.now()): { waybill: string; trackingId: number } {
    const g = this.o.geometry;
    const v = g.beltMmS / 1000; // mm per ms
    const n = ++this.seq;
    const serial = String(10_000_000 + ((this.serialBase + n) % 90_000_000)).slice(-8);
    const waybill = makeS10('RR', serial, 'CN');
    const { nodes } = this;
    // devices stamp what they saw with when they saw it: a timer of this process firing late
    // (a busy machine) must not move the parcel on the gateway's belt
    const stamp = (ms: number) => new Date(t0 + ms);
    const after = (ms: number, fn: () => void) => this.at(t0 + ms, fn);
    nodes.setValue(nodes.photoEye, DataType.Boolean, true, stamp(0));
    const trackingId = this.sorter.induct(waybill, kind, stamp(0));
    this.o.out({ event: 'inducted', n, waybill, trackingId, kind });
    const trailing = g.parcelMm / v;
    after(trailing, () => nodes.setValue(nodes.photoEye, DataType.Boolean, false, stamp(trailing)));
    const read =
      kind === 'unread'
        ? null
        : kind === 'invalid'
          ? waybill.replace(/(\d)(?=[A-Z]{2}$)/, (d) => String((Number(d) + 1) % 10))
          : waybill;
    const readAt = (g.scannerMm + g.parcelMm / 2) / v;
    after(readAt, () => nodes.raiseScan(read, stamp(readAt)));
    const exitMs = (g.ctMm + g.parcelMm) / v;
    const decisionMs = g.decisionMm / v;
    const verdict = VERDICT[kind];
    if (verdict) {
      const imageId = `IMG-${n}`;
      const itemId = `CT-${String(n).padStart(6, '0')}`;
      if (this.o.ctShape === 'review') {
        const when = kind === 'late' ? decisionMs + 500 : exitMs + this.o.reviewDelayMs;
        after(when, () =>
          this.sorter.raiseReview({
            waybill,
            itemId,
            verdict,
            imageId,
            operator: kind === 'suspect' ? 'officer-07' : '',
          }),
        );
      } else {
        const [min, max] = this.o.scanDelayMs;
        const delay = kind === 'late' ? decisionMs : min + Math.random() * (max - min);
        const scannedAt = (g.ctMm + g.parcelMm / 2) / v;
        after(scannedAt + delay, () =>
          nodes.raiseVerdict({
            trackingId: itemId,
            waybill,
            verdict,
            imageId,
            confidence: 0.95,
            operator: '',
            scannedAt: stamp(scannedAt),
          }),
        );
      }
    }
    after(decisionMs, () => this.sorter.sort(trackingId));
    return { waybill, trackingId };
  }

  /** The belt runs at another speed from now on (parcels already on it keep their timing). */
  setSpeed(beltMmS: number): void {
    this.o.geometry.beltMmS = beltMmS;
    this.nodes.setValue(this.nodes.beltSpeed, DataType.Double, beltMmS / 1000);
  }

  /** A scripted run: the parcels in order, `gapMs` apart; {"event":"runDone"} after the last sort. */
  run(kinds: readonly ParcelKind[], gapMs: number): void {
    const g = this.o.geometry;
    const start = Date.now();
    kinds.forEach((kind, i) =>
      this.at(start + i * gapMs, () => this.parcel(kind, start + i * gapMs)),
    );
    const lastSort = (kinds.length - 1) * gapMs + g.decisionMm / (g.beltMmS / 1000);
    this.at(start + lastSort + 200, () =>
      this.o.out({ event: 'runDone', parcels: kinds.length, ...this.sorter.totals }),
    );
  }
}
