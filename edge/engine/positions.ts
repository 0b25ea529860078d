import type { Outlet, TrackedParcel } from './parcel.js';
import type { BeltTracker } from './tracking.js';
import type { EngineConfig } from './types.js';

/**
 * Where a parcel is and when it will be somewhere, from the belt odometer: positions, device
 * windows, the decision deadline, gate fire times, and event-to-parcel matching.
 */
export class LinePositions {
  constructor(
    private readonly config: EngineConfig,
    private readonly tracker: BeltTracker,
    readonly firstGateMm: number,
    readonly lastPositionMm: number,
    readonly confirmWindowMm: number,
  ) {}

  lead(p: TrackedParcel, atMono: number): number {
    return this.tracker.mmAt(atMono) - p.startMm;
  }
  lengthOf(p: TrackedParcel): number {
    return p.lengthMm ?? this.config.defaultParcelLengthMm;
  }
  reachMono(p: TrackedParcel, positionMm: number): number {
    return this.tracker.monoWhen(p.startMm + positionMm) ?? Infinity;
  }
  deadlineMono(p: TrackedParcel): number {
    const { actuationLeadMs, marginMs } = this.config.decision;
    return this.reachMono(p, this.firstGateMm) - actuationLeadMs - marginMs;
  }
  windowEnd(p: TrackedParcel, d: { positionMm: number; toleranceMm: number }): number {
    return this.reachMono(p, d.positionMm + this.lengthOf(p) + d.toleranceMm);
  }
  exitMono(p: TrackedParcel): number {
    return this.reachMono(p, this.lastPositionMm + this.lengthOf(p) + this.confirmWindowMm);
  }
  fireAt(p: TrackedParcel, o: Outlet): number | null {
    return this.fireAtFrom(p.startMm, o);
  }
  /** The same for something the engine does not track, seen at `positionMm` at `atMono`. */
  fireAtSeen(positionMm: number, atMono: number, o: Outlet): number | null {
    return this.fireAtFrom(this.tracker.mmAt(atMono) - positionMm, o);
  }
  private fireAtFrom(startMm: number, o: Outlet): number | null {
    const at = this.tracker.monoWhen(startMm + o.geom.positionMm);
    return at === null ? null : at - this.config.decision.actuationLeadMs;
  }
  /** The parcel whose body covers `positionMm` (within tolerance) at `atMono`, nearest first. */
  match(
    parcels: readonly TrackedParcel[],
    positionMm: number,
    toleranceMm: number,
    atMono: number,
  ): TrackedParcel | null {
    let best: TrackedParcel | null = null;
    let bestDistance = Infinity;
    const odo = this.tracker.mmAt(atMono);
    for (const p of parcels) {
      if (p.inductedAtMono > atMono) continue;
      const lead = odo - p.startMm;
      const len = this.lengthOf(p);
      if (lead < positionMm - toleranceMm || lead > positionMm + len + toleranceMm) continue;
      const distance = Math.abs(lead - len / 2 - positionMm);
      if (distance < bestDistance) {
        best = p;
        bestDistance = distance;
      }
    }
    return best;
  }
}
