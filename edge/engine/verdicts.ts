import type { DivertPlanner } from './divert.js';
import { ev, type TrackedParcel } from './parcel.js';
import { clearEvidence, evidenceReason } from './officer-evidence.js';
import type { LinePositions } from './positions.js';
import type { CtVerdictInput, EngineConfig, EngineOutput, OfficerVerdictInput } from './types.js';

/**
 * Verdict placement: a CT verdict is matched to the parcel that was in the tunnel at the moment
 * of the scan (it may arrive seconds later); an officer's verdict names a parcel or a waybill.
 * A verdict that makes a decided parcel unsafe re-decides it (the fail-safe in DivertPlanner).
 */

/** Stricter verdicts win when the same scan is judged twice. */
const VERDICT_SEVERITY = { clear: 0, unknown: 1, suspect: 2 } as const;

export class VerdictPlacement {
  constructor(
    private readonly config: EngineConfig,
    private readonly parcels: readonly TrackedParcel[],
    private readonly pos: LinePositions,
    private readonly diverts: DivertPlanner,
  ) {}

  ct(input: CtVerdictInput, out: EngineOutput): void {
    const { positionMm, toleranceMm } = this.config.ct;
    const p = this.pos.match(this.parcels, positionMm, toleranceMm, input.scannedAtMono);
    const payload = {
      deviceId: input.deviceId,
      verdict: input.verdict,
      scanId: input.scanId,
      imageId: input.imageId,
      scannedAtMono: input.scannedAtMono,
      ...(input.details ?? {}),
    };
    if (!p) {
      out.events.push(ev('ct.unmatched', null, input.scannedAtMono, payload));
      return;
    }
    if (p.verdict !== null) {
      const sameScan = p.scanId === input.scanId;
      if (sameScan && p.verdict === input.verdict) {
        out.events.push(ev('ct.duplicate', p.id, input.scannedAtMono, payload));
        return;
      }
      if (sameScan) {
        // the same scan re-judged (review screen): the stricter verdict stands
        const stricter = VERDICT_SEVERITY[input.verdict] > VERDICT_SEVERITY[p.verdict];
        out.events.push(
          ev('ct.verdict_revised', p.id, input.scannedAtMono, {
            ...payload,
            previous: p.verdict,
            applied: stricter,
          }),
        );
        if (!stricter) return;
        p.verdict = input.verdict;
      } else {
        p.ctConflict = true;
        out.events.push(ev('ct.conflict', p.id, input.scannedAtMono, payload));
      }
      this.diverts.recheck(p, out, input.scannedAtMono);
      return;
    }
    p.verdict = input.verdict;
    p.scanId = input.scanId;
    p.imageId = input.imageId;
    out.events.push(
      ev('ct.verdict', p.id, input.scannedAtMono, {
        ...payload,
        afterDecision: p.decided !== null,
        decidedLane: p.decided?.lane ?? null,
      }),
    );
  }

  officer(input: OfficerVerdictInput, out: EngineOutput): void {
    const wanted = input.waybill?.trim().toUpperCase() ?? null;
    const byWaybill = this.parcels.filter(
      (x) => wanted !== null && x.code?.toUpperCase() === wanted,
    );
    if (input.parcelId === null && byWaybill.length > 1) {
      // one waybill, several parcels: a stricter verdict goes to all of them, a clear to none
      for (const x of byWaybill) {
        if (input.verdict !== 'clear') {
          x.verdict =
            input.verdict === 'suspect' || x.verdict !== 'suspect' ? input.verdict : x.verdict;
          this.diverts.recheck(x, out, input.atMono);
        }
        out.events.push(
          ev('ct.officer_verdict', x.id, input.atMono, {
            officerId: input.officerId,
            verdict: input.verdict,
            reportId: input.reportId,
            requestedParcelId: null,
            waybill: input.waybill,
            applied: input.verdict !== 'clear',
            reason: `waybill matches ${byWaybill.length} parcels on the line`,
            decidedLane: x.decided?.lane ?? null,
          }),
        );
      }
      return;
    }
    const p =
      this.parcels.find((x) => input.parcelId !== null && x.id === input.parcelId) ??
      byWaybill[0] ??
      null;
    const base = {
      officerId: input.officerId,
      verdict: input.verdict,
      reportId: input.reportId,
      requestedParcelId: input.parcelId,
      waybill: input.waybill,
    };
    if (!p) {
      out.events.push(
        ev('ct.officer_verdict', null, input.atMono, {
          ...base,
          applied: false,
          reason: 'parcel not on the line (already past the last diverter, or never inducted)',
        }),
      );
      return;
    }
    let applied = false;
    let reason: string;
    // a clear is bound to the CT scan / report it names (officer-evidence.ts)
    const evidence = input.verdict === 'clear' ? clearEvidence(input.reportId, p) : null;
    if (evidence !== null && evidence !== 'matched') {
      reason = evidenceReason(evidence, input.reportId, p);
    } else if (input.verdict !== 'clear') {
      applied = p.verdict !== input.verdict || p.verdict === null;
      reason = `officer ${input.verdict}: inspection`;
      p.verdict =
        input.verdict === 'suspect' || p.verdict !== 'suspect' ? input.verdict : p.verdict;
    } else if (p.verdict === null) {
      applied = true;
      reason = 'officer clear stands in for the machine verdict';
      p.verdict = 'clear';
    } else if (p.verdict === 'clear') {
      reason = 'machine verdict already clear';
    } else {
      reason = `machine verdict ${p.verdict} is not cleared at the gateway: the parcel goes to inspection`;
    }
    out.events.push(
      ev('ct.officer_verdict', p.id, input.atMono, {
        ...base,
        applied,
        reason,
        ...(evidence !== null ? { evidence } : {}),
        decidedLane: p.decided?.lane ?? null,
      }),
    );
    if (input.verdict !== 'clear') this.diverts.recheck(p, out, input.atMono);
  }
}
