import { normId } from './correlation.js';
import type { DivertPlanner } from './divert.js';
import { ev, type TrackedParcel } from './parcel.js';
import type { LinePositions } from './positions.js';
import type { EngineConfig, EngineOutput, ParcelIdInput } from './types.js';

/**
 * Identifiers given to a parcel on the line (ParcelIdInput): the sorter PLC's tracking id at
 * induction, the CT's item id at the tunnel entry. Placed on the parcel whose leading edge is
 * nearest the point where the id is given. The PLC's id and the photo-eye edge travel as
 * separate values and may arrive in either order, so an id that finds no parcel waits a moment
 * for the induction that goes with it.
 */

const DEFAULT_PLC_TRACKING = { positionMm: 0, toleranceMm: 200 };
/** an id waits this long for its parcel (the photo-eye edge travels apart), then it is unmatched */
const PENDING_MS = 500;
const PENDING_MAX = 64;

export class ParcelIdPlacement {
  /** ids that found no parcel yet, with when they arrived */
  private pending: { input: ParcelIdInput; since: number }[] = [];

  constructor(
    private readonly config: EngineConfig,
    private readonly parcels: readonly TrackedParcel[],
    private readonly pos: LinePositions,
    private readonly diverts: DivertPlanner,
  ) {}

  handle(input: ParcelIdInput, out: EngineOutput, nowMono: number): void {
    if (this.place(input, out)) return;
    this.pending.push({ input, since: nowMono });
    if (this.pending.length > PENDING_MAX) this.unmatched(this.pending.shift()?.input, out);
  }

  /** A parcel was inducted: ids that arrived before its photo-eye edge find it now. */
  inducted(out: EngineOutput): void {
    if (this.pending.length === 0) return;
    this.pending = this.pending.filter((x) => !this.place(x.input, out));
  }

  /** When the oldest waiting id gives up (null: none waiting). */
  nextWakeMono(): number | null {
    const first = this.pending[0];
    return first ? first.since + PENDING_MS : null;
  }

  /** Ids that waited long enough for a parcel are recorded as unmatched. */
  expire(nowMono: number, out: EngineOutput): void {
    if (this.pending.length === 0) return;
    const keep: { input: ParcelIdInput; since: number }[] = [];
    for (const x of this.pending) {
      if (nowMono - x.since >= PENDING_MS) this.unmatched(x.input, out);
      else keep.push(x);
    }
    this.pending = keep;
  }

  private unmatched(input: ParcelIdInput | undefined, out: EngineOutput): void {
    if (!input) return;
    const payload = {
      deviceId: input.deviceId,
      kind: input.kind,
      value: input.value,
      reason: 'no parcel at the point where the id is given',
    };
    out.events.push(ev('parcel.id_unmatched', null, input.atMono, payload));
    this.untracked(input, out);
  }

  /** The PLC has a parcel the gateway does not track: handed off to inspection by its id. */
  private untracked(input: ParcelIdInput, out: EngineOutput): void {
    const value = normId(input.kind, input.value);
    if (input.kind !== 'plcTracking' || value === null) return;
    const handed = this.diverts.untracked(value, this.where(input).positionMm, input.atMono, out);
    out.events.push(
      ev('alarm.untracked-parcel', null, input.atMono, {
        deviceId: input.deviceId,
        plcTracking: value,
        handedToInspection: handed,
        severity: handed ? 'major' : 'critical',
        note: handed
          ? 'the sorter PLC tracks a parcel the gateway does not: handed to the PLC for inspection'
          : 'the sorter PLC tracks a parcel the gateway does not: it follows the PLC default destination',
      }),
    );
  }

  private where(input: ParcelIdInput): { positionMm: number; toleranceMm: number } {
    if (input.kind === 'ctItem') return this.config.ct;
    return this.config.plcTracking ?? DEFAULT_PLC_TRACKING;
  }

  private place(input: ParcelIdInput, out: EngineOutput): boolean {
    const value = normId(input.kind, input.value);
    if (value === null) return true; // nothing to place
    const { positionMm, toleranceMm } = this.where(input);
    let best: TrackedParcel | null = null;
    let bestDistance = Infinity;
    for (const p of this.parcels) {
      const lead = this.pos.lead(p, input.atMono);
      if (lead < positionMm - toleranceMm || lead > positionMm + this.pos.lengthOf(p) + toleranceMm)
        continue;
      const d = Math.abs(lead - positionMm);
      if (d < bestDistance) {
        best = p;
        bestDistance = d;
      }
    }
    if (!best) return false;
    const p = best;
    const kind = input.kind;
    const base = { deviceId: input.deviceId, kind, value };
    if (p.ids[kind] === value) return true;
    if (p.ids[kind] !== undefined) {
      // one parcel, two ids from the same source: which physical parcel is which is unknown
      out.events.push(
        ev('parcel.id_conflict', p.id, input.atMono, { ...base, previous: p.ids[kind] }),
      );
      p.unknown ??= `two ${kind} ids on one parcel (${p.ids[kind]}, ${value})`;
      this.diverts.recheck(p, out, input.atMono);
      // the second id is most likely a parcel the gateway did not see: inspection too
      this.untracked({ ...input, value }, out);
      return true;
    }
    // a PLC's counter wrapped or it reused an id: the older parcel no longer owns it
    for (const other of this.parcels) {
      if (other !== p && other.ids[kind] === value) {
        delete other.ids[kind];
        out.events.push(ev('parcel.id_reused', other.id, input.atMono, { ...base, now: p.id }));
      }
    }
    p.ids[kind] = value;
    out.events.push(ev('parcel.tagged', p.id, input.atMono, base));
    if (kind === 'plcTracking') this.diverts.provisional(p, out, input.atMono);
    return true;
  }
}
