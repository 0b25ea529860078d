import type { BeltTracker } from './tracking.js';
import type { EngineConfig } from './types.js';

/**
 * Whether the belt can still carry a parcel, tracked or not. The engine does not track every
 * parcel on the belt: after a start or a restore (a gateway restart, the pipeline restart of a
 * config change) the parcels that were on the belt are recorded as gone to inspection and run
 * on untracked. So the belt counts as possibly occupied from the engine's start, and while any
 * parcel is tracked; it is clear once it has moved one full transit (induction to past the
 * last lane, plus a parcel and the confirm window) since then, in belt travel (the odometer,
 * which stands still while the line is stopped) and in time at the fastest belt speed allowed.
 */
export interface BeltClearance {
  /** parcels the engine tracks now */
  parcels: number;
  /** since when no parcel has been tracked (start / restore counts as occupied); null: tracked now */
  clearSinceMono: number | null;
  /** belt travel since `clearSinceMono`, mm (0 while parcels are tracked) */
  travelledMm: number;
  /** one full transit of the belt, mm */
  transitMm: number;
  /** one full transit at the fastest belt speed the line may run, ms */
  transitMs: number;
  /** no parcel can be on the belt: clear for at least one full transit, in travel and in time */
  clear: boolean;
}

export class BeltOccupancy {
  private sinceMono: number | null;
  private sinceMm = 0;
  readonly transitMm: number;
  readonly transitMs: number;

  constructor(
    config: EngineConfig,
    private readonly tracker: BeltTracker,
    lastPositionMm: number,
    confirmWindowMm: number,
    startMono: number,
  ) {
    this.transitMm = lastPositionMm + config.defaultParcelLengthMm + confirmWindowMm;
    const fastest = config.tracking?.maxSpeedMmPerS ?? config.beltSpeedMmPerS;
    this.transitMs = (this.transitMm / fastest) * 1000;
    this.sinceMono = startMono;
    this.sinceMm = tracker.mmAt(startMono);
  }

  /** A parcel is tracked (inducted): the belt is occupied. */
  occupied(): void {
    this.sinceMono = null;
  }

  /**
   * The belt was possibly occupied until `atMono` (the last tracked parcel left, or a restore).
   * Never moves an earlier "occupied" moment back.
   */
  possiblyOccupiedAt(atMono: number, trackedNow: number): void {
    if (trackedNow > 0) {
      this.sinceMono = null;
      return;
    }
    if (this.sinceMono !== null && this.sinceMono >= atMono) return;
    this.sinceMono = atMono;
    this.sinceMm = this.tracker.mmAt(atMono);
  }

  report(nowMono: number, parcels: number): BeltClearance {
    const since = parcels > 0 ? null : this.sinceMono;
    const travelledMm = since === null ? 0 : Math.max(0, this.tracker.mmAt(nowMono) - this.sinceMm);
    return {
      parcels,
      clearSinceMono: since,
      travelledMm,
      transitMm: this.transitMm,
      transitMs: this.transitMs,
      clear: since !== null && travelledMm >= this.transitMm && nowMono - since >= this.transitMs,
    };
  }
}
