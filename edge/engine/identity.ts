import { normId } from './correlation.js';
import type { DivertPlanner } from './divert.js';
import { ev, type TrackedParcel } from './parcel.js';
import type { LinePositions } from './positions.js';
import type { BarcodeInput, EngineConfig, EngineOutput, TargetingLookup } from './types.js';

/**
 * A parcel's identity: waybill reads matched to the parcel under the scanner (no-read, invalid,
 * duplicate and conflicting reads, one waybill on two parcels), and the targeting list checked
 * against each identified parcel (again when a new list arrives).
 */
export class ParcelIdentity {
  private targeting: TargetingLookup | null = null;

  constructor(
    private readonly config: EngineConfig,
    private readonly parcels: readonly TrackedParcel[],
    private readonly pos: LinePositions,
    private readonly diverts: DivertPlanner,
  ) {}

  /** Replace the targeting list (atomically: one reference). */
  setTargeting(list: TargetingLookup | null): void {
    this.targeting = list;
  }

  /** The version of the current targeting list, null when there is none. */
  get targetingVersion(): string | null {
    return this.targeting?.version ?? null;
  }

  barcode(input: BarcodeInput, out: EngineOutput): void {
    const { positionMm, toleranceMm } = this.config.scanner;
    const p = this.pos.match(this.parcels, positionMm, toleranceMm, input.atMono);
    if (!p) {
      out.events.push(
        ev('read.unmatched', null, input.atMono, { deviceId: input.deviceId, code: input.code }),
      );
      return;
    }
    if (input.code === null || !input.valid) {
      if (p.codeState === 'pending') {
        p.codeState = input.code === null ? 'noread' : 'invalid';
        out.events.push(
          ev('parcel.noread', p.id, input.atMono, {
            deviceId: input.deviceId,
            code: input.code,
            reason: input.code === null ? 'no-read' : 'invalid-id',
          }),
        );
      }
      return;
    }
    if (p.codeState === 'read' || p.codeState === 'conflict') {
      const same = p.code === input.code;
      if (!same && p.codeState === 'read') p.codeState = 'conflict';
      out.events.push(
        ev(same ? 'read.duplicate' : 'read.conflict', p.id, input.atMono, {
          deviceId: input.deviceId,
          code: input.code,
          firstCode: p.code,
        }),
      );
      if (!same) this.diverts.recheck(p, out, input.atMono);
      return;
    }
    // a read made in the window but delivered after it closed: taken while still undecided
    const late = p.codeState === 'noread' && p.readTimedOut && p.decided === null;
    if (p.codeState !== 'pending' && !late) return;
    p.code = input.code;
    p.codeState = 'read';
    const waybill = normId('waybill', input.code);
    if (waybill !== null) p.ids.waybill = waybill;
    out.events.push(
      ev('parcel.identified', p.id, input.atMono, {
        deviceId: input.deviceId,
        code: input.code,
        ...(late ? { deliveredAfterWindow: true } : {}),
      }),
    );
    // two parcels on the belt with one waybill: neither identity can be trusted (tracking rule)
    const twins = this.parcels.filter((x) => x !== p && x.code === input.code);
    if (twins.length > 0) {
      for (const x of [p, ...twins]) {
        x.codeState = 'conflict';
        out.events.push(
          ev('read.duplicate_waybill', x.id, input.atMono, {
            code: input.code,
            parcels: [p, ...twins].map((y) => y.id),
          }),
        );
        this.diverts.recheck(x, out, input.atMono);
      }
      return;
    }
    this.refreshTargeting(p, out, input.atMono);
    this.diverts.provisional(p, out, input.atMono);
  }

  refreshTargeting(p: TrackedParcel, out: EngineOutput, atMono: number): void {
    const list = this.targeting;
    if (!list || p.code === null || p.codeState !== 'read' || p.targetingVersion === list.version)
      return;
    p.targetingVersion = list.version;
    const hit = list.match(p.code);
    if (!hit || p.targetingHit) return;
    p.targetingHit = hit;
    out.events.push(ev('targeting.hit', p.id, atMono, { code: p.code, ...hit }));
    this.diverts.recheck(p, out, atMono);
  }
}
