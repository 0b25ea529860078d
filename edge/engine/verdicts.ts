import {
  cleanIds,
  compareIds,
  DepartedParcels,
  hasIds,
  identifyingIds,
  learnIds,
  type DepartedParcel,
} from './correlation.js';
import type { EventPayload } from '../events/payloads/index.js';
import type { DivertPlanner } from './divert.js';
import { escaped, ev, type TrackedParcel } from './parcel.js';
import { clearEvidence, evidenceReason } from './officer-evidence.js';
import type { LinePositions } from './positions.js';
import type {
  CtVerdict,
  CtVerdictInput,
  EngineConfig,
  EngineOutput,
  IdKind,
  OfficerVerdictInput,
  ParcelIds,
} from './types.js';

/**
 * Verdict placement. A CT verdict (and an officer's) names its parcel by the identifiers it
 * carries (correlation.ts): it is placed on the tracked parcel whose aliases match and none
 * contradict. Only a verdict that carries no identifier is placed by position: on the parcel
 * that was in the tunnel at the moment of the scan. When both exist and disagree, the identifier
 * wins and the disagreement is recorded and alarmed. A verdict is never attached to a parcel whose
 * identifiers contradict it: that parcel's tracking is doubtful (inspection), alarmed. A verdict
 * that matches no tracked parcel is `ct.unmatched` (alarmed); one that matches a parcel that has
 * already left the line, suspect or unknown while the parcel went elsewhere than inspection,
 * raises `alarm.escaped` so inspectors can intercept it downstream.
 * A verdict that makes a decided parcel unsafe re-decides it (the fail-safe in DivertPlanner).
 */

/** Stricter verdicts win when the same scan is judged twice. */
const VERDICT_SEVERITY = { clear: 0, unknown: 1, suspect: 2 } as const;

interface Located {
  by: 'identifier' | 'position' | null;
  /** clean matches: by identifier (maybe several) or the one parcel at the CT */
  parcels: TrackedParcel[];
  /** parcels that match on some identifier and contradict on another */
  conflicts: { parcel: TrackedParcel; matched: IdKind[]; contradicted: IdKind[] }[];
  /** the parcel at the CT at the scan time (when the verdict has one) */
  positional: TrackedParcel | null;
  departed: DepartedParcel[];
  identifying: ParcelIds;
}

export class VerdictPlacement {
  private readonly departed = new DepartedParcels();

  constructor(
    private readonly config: EngineConfig,
    private readonly parcels: readonly TrackedParcel[],
    private readonly pos: LinePositions,
    private readonly diverts: DivertPlanner,
  ) {}

  /** A parcel left the line (forgotten by the engine): kept for verdicts that come after it. */
  left(p: TrackedParcel, atMono: number): void {
    this.departed.add({
      id: p.id,
      ids: { ...p.ids },
      code: p.code,
      lane: p.decided?.lane ?? null,
      outlet: p.decided?.outlet ?? null,
      leftAtMono: atMono,
    });
  }

  private locate(ids: ParcelIds, scannedAtMono: number | null): Located {
    const { positionMm, toleranceMm } = this.config.ct;
    const positional =
      scannedAtMono === null
        ? null
        : this.pos.match(this.parcels, positionMm, toleranceMm, scannedAtMono);
    const identifying = identifyingIds(
      ids,
      (kind, value) =>
        this.parcels.some((p) => p.ids[kind] === value) || this.departed.knows(kind, value),
    );
    const located: Located = {
      by: null,
      parcels: [],
      conflicts: [],
      positional,
      departed: [],
      identifying,
    };
    if (hasIds(identifying)) {
      for (const p of this.parcels) {
        const c = compareIds(p.ids, ids);
        if (c.matched.length === 0) continue;
        if (c.contradicted.length > 0) located.conflicts.push({ parcel: p, ...c });
        else located.parcels.push(p);
      }
      if (located.conflicts.length > 0) {
        // identifiers that name parcels known by other identifiers are mixed up: the verdict is
        // attached to none of the parcels it names, and each of them is doubtful
        for (const p of located.parcels)
          located.conflicts.push({ parcel: p, ...compareIds(p.ids, ids) });
        located.parcels = [];
        return located;
      }
      if (located.parcels.length > 0) located.by = 'identifier';
      else located.departed = this.departed.find(identifying);
      return located;
    }
    if (!positional) return located;
    const c = compareIds(positional.ids, ids);
    if (c.contradicted.length > 0) located.conflicts.push({ parcel: positional, ...c });
    else {
      located.by = 'position';
      located.parcels.push(positional);
    }
    return located;
  }

  ct(input: CtVerdictInput, out: EngineOutput, nowMono: number): void {
    const at = input.scannedAtMono ?? nowMono;
    const ids = cleanIds(input.ids);
    const payload = {
      deviceId: input.deviceId,
      verdict: input.verdict,
      scanId: input.scanId,
      imageId: input.imageId,
      scannedAtMono: input.scannedAtMono,
      ids,
      ...(input.details ?? {}),
    };
    const loc = this.locate(ids, input.scannedAtMono);
    this.conflicts(loc, payload, out, at);
    if (loc.by === null) {
      if (loc.conflicts.length > 0) return;
      if (loc.departed.length > 0) {
        for (const d of loc.departed) this.afterDeparture(d, input.verdict, payload, out, at);
        return;
      }
      const reason = hasIds(loc.identifying)
        ? 'no tracked parcel carries its identifiers'
        : input.scannedAtMono === null
          ? 'no identifier and no scan time: it cannot be placed'
          : 'no identifier, and no parcel was in the tunnel at the scan time';
      out.events.push(ev('ct.unmatched', null, at, { ...payload, reason }));
      out.events.push(
        ev('alarm.ct-unmatched', null, at, { ...payload, reason, severity: 'major' }),
      );
      return;
    }
    if (loc.parcels.length > 1) {
      // one identifier on several parcels (a waybill read twice): a stricter verdict goes to all
      // of them, a clear to none (they go to inspection when their deadline comes)
      const parcelIds = loc.parcels.map((p) => p.id);
      out.events.push(
        ev('alarm.ct-ambiguous', null, at, { ...payload, parcels: parcelIds, severity: 'major' }),
      );
      for (const p of loc.parcels) {
        const applied = input.verdict !== 'clear';
        out.events.push(ev('ct.ambiguous', p.id, at, { ...payload, parcels: parcelIds, applied }));
        if (!applied) continue;
        p.verdict = stricter(p.verdict, input.verdict);
        this.diverts.recheck(p, out, at);
      }
      return;
    }
    const p = loc.parcels[0] as TrackedParcel;
    if (loc.by === 'identifier' && input.scannedAtMono !== null && loc.positional !== p) {
      const mismatch = {
        ...payload,
        placedOn: p.id,
        parcelAtScanTime: loc.positional?.id ?? null,
      };
      out.events.push(ev('ct.position_mismatch', p.id, at, mismatch));
      out.events.push(
        ev('alarm.ct-position-mismatch', p.id, at, { ...mismatch, severity: 'minor' }),
      );
    }
    this.apply(p, input, loc.by, ids, payload, out, at);
  }

  private apply(
    p: TrackedParcel,
    input: CtVerdictInput,
    by: 'identifier' | 'position',
    ids: ParcelIds,
    payload: Record<string, unknown>,
    out: EngineOutput,
    at: number,
  ): void {
    const learned = learnIds(p.ids, ids);
    // the verdict's own fields (CtVerdictInput mapped by ct()): the ct.* payload schema
    const fields = payload as EventPayload<'ct.duplicate'>;
    if (p.verdict !== null) {
      // placed by identifier it is this parcel's own scan, judged again (review screen)
      const sameScan = by === 'identifier' || p.scanId === input.scanId;
      if (sameScan && p.verdict === input.verdict) {
        out.events.push(ev('ct.duplicate', p.id, at, { ...fields, placedBy: by }));
        return;
      }
      if (sameScan) {
        // the same scan re-judged: the stricter verdict stands
        const isStricter = VERDICT_SEVERITY[input.verdict] > VERDICT_SEVERITY[p.verdict];
        out.events.push(
          ev('ct.verdict_revised', p.id, at, {
            ...fields,
            placedBy: by,
            previous: p.verdict,
            applied: isStricter,
          }),
        );
        if (!isStricter) return;
        p.verdict = input.verdict;
      } else {
        p.ctConflict = true;
        out.events.push(ev('ct.conflict', p.id, at, fields));
      }
      this.diverts.recheck(p, out, at);
      return;
    }
    p.verdict = input.verdict;
    p.scanId = input.scanId;
    p.imageId = input.imageId;
    out.events.push(
      ev('ct.verdict', p.id, at, {
        ...fields,
        placedBy: by,
        learned,
        afterDecision: p.decided !== null,
        decidedLane: p.decided?.lane ?? null,
      }),
    );
    this.diverts.recheck(p, out, at);
  }

  /** Parcels whose identifiers contradict the verdict: not attached; tracking doubtful. */
  private conflicts(
    loc: Located,
    payload: Record<string, unknown>,
    out: EngineOutput,
    at: number,
  ): void {
    for (const { parcel: p, matched, contradicted } of loc.conflicts) {
      const detail = {
        ...payload,
        matched,
        contradicted,
        parcelIds: { ...p.ids },
        note:
          contradicted.length > 0
            ? 'verdict not attached: the parcel is known by other identifiers; tracking doubtful, inspection'
            : 'verdict not attached: its identifiers also name a parcel known by other identifiers; tracking doubtful, inspection',
      };
      p.ctConflict = true;
      out.events.push(ev('ct.identifier_conflict', p.id, at, detail));
      out.events.push(
        ev('alarm.ct-identifier-conflict', p.id, at, { ...detail, severity: 'major' }),
      );
      this.diverts.recheck(p, out, at);
    }
  }

  private afterDeparture(
    d: DepartedParcel,
    verdict: CtVerdict,
    payload: Record<string, unknown>,
    out: EngineOutput,
    at: number,
  ): void {
    out.events.push(
      ev('ct.after_departure', d.id, at, { ...payload, lane: d.lane, outlet: d.outlet }),
    );
    if (verdict === 'clear' || d.lane === 'inspection') return;
    out.events.push(
      escaped(
        d.id,
        d.code,
        d.lane,
        d.outlet,
        at,
        `CT verdict ${verdict} after the parcel left the line`,
      ),
    );
  }

  officer(input: OfficerVerdictInput, out: EngineOutput): void {
    const ids = cleanIds({ ...(input.ids ?? {}), waybill: input.waybill ?? input.ids?.waybill });
    const base = {
      officerId: input.officerId,
      verdict: input.verdict,
      reportId: input.reportId,
      requestedParcelId: input.parcelId,
      waybill: input.waybill,
      ids,
    };
    let targets: TrackedParcel[];
    let conflictReason: string | null = null;
    if (input.parcelId !== null) {
      const p = this.parcels.find((x) => x.id === input.parcelId);
      targets = p ? [p] : [];
      const c = p ? compareIds(p.ids, ids) : null;
      if (c && c.contradicted.length > 0) {
        conflictReason = `the parcel is known by other identifiers (${c.contradicted.join(', ')})`;
        targets = [];
      }
    } else {
      const loc = this.locate(ids, null);
      targets = loc.parcels;
      if (targets.length === 0 && loc.conflicts.length > 0)
        conflictReason = `identifiers contradict parcel(s) ${loc.conflicts.map((c) => c.parcel.id).join(', ')}`;
      if (targets.length === 0 && loc.conflicts.length === 0) {
        for (const d of loc.departed) {
          out.events.push(
            ev('ct.officer_verdict', d.id, input.atMono, {
              ...base,
              applied: false,
              reason: `parcel already left the line (${d.lane ?? 'undecided'})`,
            }),
          );
          if (input.verdict !== 'clear' && d.lane !== 'inspection')
            out.events.push(
              escaped(
                d.id,
                d.code,
                d.lane,
                d.outlet,
                input.atMono,
                `officer ${input.verdict} after the parcel left the line`,
              ),
            );
        }
        if (loc.departed.length > 0) return;
      }
    }
    if (targets.length > 1) {
      // one waybill, several parcels: a stricter verdict goes to all of them, a clear to none
      for (const x of targets) {
        if (input.verdict !== 'clear') {
          x.verdict = stricter(x.verdict, input.verdict);
          this.diverts.recheck(x, out, input.atMono);
        }
        out.events.push(
          ev('ct.officer_verdict', x.id, input.atMono, {
            ...base,
            requestedParcelId: null,
            applied: input.verdict !== 'clear',
            reason: `waybill matches ${targets.length} parcels on the line`,
            decidedLane: x.decided?.lane ?? null,
          }),
        );
      }
      return;
    }
    const p = targets[0];
    if (!p) {
      const reason =
        conflictReason ??
        'parcel not on the line (already past the last diverter, or never inducted)';
      out.events.push(
        ev('ct.officer_verdict', null, input.atMono, { ...base, applied: false, reason }),
      );
      if (conflictReason)
        out.events.push(
          ev('alarm.ct-identifier-conflict', null, input.atMono, {
            ...base,
            reason,
            severity: 'major',
          }),
        );
      return;
    }
    let applied = false;
    let reason: string;
    // a remote clear is bound to the CT scan / report it names (officer-evidence.ts); the
    // workstation's release is an on-site officer's, with the parcel in the queue
    const evidence =
      input.verdict === 'clear' && input.source !== 'workstation'
        ? clearEvidence(input.reportId, p)
        : null;
    if (evidence !== null && evidence !== 'matched') {
      reason = evidenceReason(evidence, input.reportId, p);
    } else if (input.verdict !== 'clear') {
      applied = p.verdict !== input.verdict || p.verdict === null;
      reason = `officer ${input.verdict}: inspection`;
      p.verdict = stricter(p.verdict, input.verdict);
    } else if (p.verdict === null) {
      applied = true;
      reason = 'officer clear stands in for the machine verdict';
      p.verdict = 'clear';
    } else if (p.verdict === 'clear') {
      reason = 'machine verdict already clear';
    } else {
      reason = `machine verdict ${p.verdict} is not cleared at the gateway: the parcel goes to inspection`;
    }
    if (applied) learnIds(p.ids, ids);
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

/** suspect beats unknown beats clear; an officer's unknown never softens a suspect */
function stricter(current: CtVerdict | null, next: CtVerdict): CtVerdict {
  if (current === null) return next;
  return VERDICT_SEVERITY[next] > VERDICT_SEVERITY[current] ? next : current;
}
