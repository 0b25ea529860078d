import { FAIL_SAFE_RULE, failSafeViolation } from './rules.js';
import type { RuleOutcome } from './rules.js';
import { escaped, ev, type Outlet, type TrackedParcel } from './parcel.js';
import type { LinePositions } from './positions.js';
import type {
  EngineConfig,
  EngineEventDraft,
  EngineOutput,
  Lane,
  LaneConfirmInput,
  PlcDivertCommand,
} from './types.js';

/**
 * Decisions and diverts: a rule outcome becomes a decision (after the fail-safe check), a gate
 * command (GPIO, sent `gateCommandLeadMs` before it fires) or a PLC hand-off; a decision is
 * revised to inspection when the parcel becomes unsafe before its divert (E-stop, lost device,
 * conflicting reads, a new targeting list), and the command is withdrawn.
 */

/** a divert this late (a few cm at line speed) still catches the parcel; later, it runs on */
const LATE_FIRE_MS = 30;
/** a GPIO command is withdrawn and re-sent when its time moves by more than this */
const RETIME_TOLERANCE_MS = { time: 2, encoder: 10 };

export class DivertPlanner {
  constructor(
    private readonly config: EngineConfig,
    private readonly pos: LinePositions,
    private readonly outlets: ReadonlyMap<string, Outlet>,
  ) {}

  /** Something changed on a decided parcel: re-apply the fail-safe. */
  recheck(p: TrackedParcel, out: EngineOutput, atMono: number): void {
    if (!p.decided || p.decided.lane === 'inspection') return;
    const violation = failSafeViolation(p, p.decided.lane);
    if (!violation) return;
    const ruleId =
      p.unknown || p.codeState === 'conflict' || p.ctConflict
        ? 'tracking'
        : p.deviceLost
          ? 'device-lost'
          : p.targetingHit
            ? 'targeting'
            : FAIL_SAFE_RULE;
    this.revise(
      p,
      { ruleId, lane: 'inspection', outlet: 'inspection', reason: violation },
      atMono,
      out,
    );
  }
  private revise(p: TrackedParcel, o: RuleOutcome, atMono: number, out: EngineOutput): void {
    const g = p.gate;
    const previous = p.decided;
    if (g?.done) {
      // past the point of no return: the inspectors must catch it downstream
      out.events.push(escaped(p.id, p.code, previous?.lane ?? null, g.outlet.id, atMono, o.reason));
      return;
    }
    const next = this.outlets.get(o.outlet) ?? this.outlets.get(o.lane);
    // a PLC that receives the new destination needs no revoke: the new hand-off replaces the old
    const replaced = g !== null && next !== undefined && samePlc(g.outlet, next);
    if (g && !replaced) this.withdraw(p, atMono, o.reason, out);
    p.gate = null;
    p.confirm = 'none';
    p.decided = { ...o, atMono };
    if (next && hasDivert(next)) p.gate = this.gateFor(p, next);
    out.events.push(
      this.decisionEvent(p, o, atMono, {
        revised: true,
        previousLane: previous?.lane ?? null,
        previousRuleId: previous?.ruleId ?? null,
      }),
    );
    this.issue(p, atMono, out);
  }
  private gateFor(p: TrackedParcel, outlet: Outlet): NonNullable<TrackedParcel['gate']> {
    return {
      outlet,
      fireAtMono: this.pos.fireAt(p, outlet),
      sentFireAtMono: null,
      issued: false,
      done: false,
    };
  }
  private withdraw(p: TrackedParcel, atMono: number, reason: string, out: EngineOutput): void {
    const g = p.gate;
    if (!g || !g.issued || g.done) return;
    const geom = g.outlet.geom;
    if (geom.gateMode === 'plc' && geom.plc) {
      out.plcCommands.push(plcCommand(p, 'revoke', g.outlet, g.outlet.lane, atMono, g.fireAtMono));
    } else if (geom.gateId) {
      // names the command actually sent (the estimate may have moved since, within tolerance)
      out.gateCancels.push({
        gateId: geom.gateId,
        parcelId: p.id,
        fireAtMono: g.sentFireAtMono ?? g.fireAtMono ?? atMono,
        reason,
      });
    }
    g.issued = false;
    g.sentFireAtMono = null;
  }
  /**
   * Belt speed changed or the line stopped: every divert's time follows the odometer. A GPIO
   * command whose time moved by more than the tolerance from the time it was sent with is
   * withdrawn (and re-sent by `issue`); a PLC hand-off is not re-sent (the PLC tracks the parcel
   * itself), but its time moves so that the gate counts as done only when the belt got there and
   * the decision can be revoked until then.
   */
  retime(
    parcels: readonly TrackedParcel[],
    out: EngineOutput,
    reason: string,
    atMono: number,
  ): void {
    const tolerance = RETIME_TOLERANCE_MS[this.config.tracking?.mode ?? 'time'];
    for (const p of parcels) {
      const g = p.gate;
      if (!g || g.done) continue;
      const at = this.pos.fireAt(p, g.outlet);
      if (
        g.issued &&
        g.outlet.geom.gateMode !== 'plc' &&
        (at === null || g.sentFireAtMono === null || Math.abs(at - g.sentFireAtMono) > tolerance)
      )
        this.withdraw(p, atMono, reason, out);
      g.fireAtMono = at;
    }
  }
  decide(p: TrackedParcel, rule: RuleOutcome, nowMono: number, out: EngineOutput): void {
    let o = rule;
    const violation = failSafeViolation(p, rule.lane);
    if (violation) {
      o = {
        ruleId: FAIL_SAFE_RULE,
        lane: 'inspection',
        outlet: 'inspection',
        reason: `fail-safe: ${violation} (rule ${rule.ruleId} chose ${rule.lane})`,
      };
      out.events.push(
        ev('alarm.failsafe-guard', p.id, nowMono, {
          rule: rule.ruleId,
          lane: rule.lane,
          violation,
        }),
      );
    }
    const outlet = this.outlets.get(o.outlet) ?? this.outlets.get(o.lane);
    p.decided = { ...o, atMono: nowMono };
    // a gate (GPIO) or a PLC destination, the inspection lane's included when it has one
    if (outlet && hasDivert(outlet)) p.gate = this.gateFor(p, outlet);
    if (outlet?.geom.confirmPhotoEyeId && !p.unknown) p.confirm = 'pending';
    out.events.push(this.decisionEvent(p, o, nowMono, {}));
    this.issue(p, nowMono, out);
  }
  private decisionEvent(
    p: TrackedParcel,
    d: RuleOutcome,
    nowMono: number,
    extra: Record<string, unknown>,
  ): EngineEventDraft {
    const g = p.gate;
    return ev('parcel.decided', p.id, nowMono, {
      lineId: this.config.lineId,
      lane: d.lane,
      outlet: d.outlet,
      ruleId: d.ruleId,
      reason: d.reason,
      customsMode: d.customsMode ?? null,
      code: p.code,
      codeState: p.codeState,
      verdict: p.verdict,
      scanId: p.scanId,
      imageId: p.imageId,
      weightKg: p.weightKg,
      targeting: p.targetingHit,
      lengthMm: p.lengthMm,
      gateId: g?.outlet.geom.gateId ?? null,
      gateMode: g ? (g.outlet.geom.gateMode ?? 'gpio') : null,
      fireAtMono: g?.fireAtMono ?? null,
      slackMs: Math.round(this.pos.deadlineMono(p) - nowMono),
      ...extra,
    });
  }
  /**
   * A sorter that decides every parcel (the inspection lane is a PLC destination): as soon as
   * the PLC can know an undecided parcel (its tracking id or waybill arrived), it is handed off
   * to inspection, provisionally; the decision replaces it. A decision whose hand-off then comes
   * too late leaves the parcel in inspection, never at the PLC's default destination.
   */
  provisional(p: TrackedParcel, out: EngineOutput, atMono: number): void {
    const inspection = this.outlets.get('inspection');
    if (p.decided || !inspection || inspection.geom.gateMode !== 'plc' || !inspection.geom.plc)
      return;
    const command = plcCommand(
      p,
      'divert',
      inspection,
      'inspection',
      atMono,
      this.pos.fireAt(p, inspection),
    );
    out.plcCommands.push({ ...command, provisional: true });
  }

  /**
   * The sorter PLC tracks a parcel the gateway does not (its tracking id found no parcel: a lost
   * photo-eye pulse, two parcels close together): it is handed off to inspection by that id, so
   * the PLC's default destination does not decide it. False when there is no PLC inspection lane.
   */
  untracked(plcTracking: string, seenAtMm: number, atMono: number, out: EngineOutput): boolean {
    const o = this.outlets.get('inspection');
    const plc = o?.geom.gateMode === 'plc' ? o.geom.plc : undefined;
    if (!o || !plc) return false;
    out.plcCommands.push({
      kind: 'plcDivert',
      action: 'divert',
      plcId: plc.plcId,
      gateId: o.geom.gateId ?? o.id,
      parcelId: `untracked-plc-${plcTracking}`,
      code: null,
      keys: { waybill: null, plcTracking, inductionSeq: 0 },
      seq: 1,
      lane: 'inspection',
      outlet: o.id,
      destination: plc.destination,
      issuedAtMono: atMono,
      atDiverterMono: this.pos.fireAtSeen(seenAtMm, atMono, o),
    });
    return true;
  }

  /** Send the divert when due (GPIO: `gateCommandLeadMs` before it fires; PLC: at once). */
  issue(p: TrackedParcel, nowMono: number, out: EngineOutput): void {
    const g = p.gate;
    const d = p.decided;
    if (!g || !d || g.issued || g.done || g.fireAtMono === null) return;
    const geom = g.outlet.geom;
    const lead = this.config.gateCommandLeadMs;
    const plc = geom.gateMode === 'plc' && geom.plc;
    if (!plc && lead !== undefined && nowMono < g.fireAtMono - lead) return;
    // a speed change can move the moment a little into the past: fire at once if still useful
    if (nowMono >= g.fireAtMono && nowMono - g.fireAtMono <= LATE_FIRE_MS) g.fireAtMono = nowMono;
    if (nowMono > g.fireAtMono) {
      // too late to divert: the parcel runs on to inspection
      g.done = true;
      out.events.push(
        ev('alarm.divert-missed', p.id, nowMono, { outlet: g.outlet.id, fireAtMono: g.fireAtMono }),
      );
      p.gate = null;
      return;
    }
    // the fail-safe once more, on the only path that can send a parcel anywhere but inspection
    if (failSafeViolation(p, d.lane)) {
      this.recheck(p, out, nowMono);
      return;
    }
    g.issued = true;
    if (plc) {
      out.plcCommands.push(plcCommand(p, 'divert', g.outlet, d.lane, nowMono, g.fireAtMono));
    } else if (geom.gateId) {
      g.sentFireAtMono = g.fireAtMono;
      out.gateCommands.push({
        gateId: geom.gateId,
        parcelId: p.id,
        lane: d.lane,
        fireAtMono: g.fireAtMono,
      });
    }
  }

  /** A lane-entry photo-eye saw a parcel: confirmed, missorted or unmatched. */
  confirm(parcels: readonly TrackedParcel[], input: LaneConfirmInput, out: EngineOutput): void {
    const outlet =
      [...this.outlets.values()].find((o) => o.geom.confirmPhotoEyeId === input.deviceId) ??
      this.outlets.get(input.lane);
    if (!outlet) return;
    const w = this.pos.confirmWindowMm;
    let best: TrackedParcel | null = null;
    let bestDistance = Infinity;
    for (const p of parcels) {
      if (!p.decided || p.unknown || p.confirm === 'confirmed') continue;
      const lead = this.pos.lead(p, input.atMono);
      const pos = outlet.geom.positionMm;
      if (lead < pos - w || lead > pos + this.pos.lengthOf(p) + w) continue;
      const d = Math.abs(lead - pos);
      if (d < bestDistance) {
        best = p;
        bestDistance = d;
      }
    }
    const base = { deviceId: input.deviceId, outlet: outlet.id, lane: outlet.lane };
    if (!best) {
      out.events.push(
        ev(
          outlet.lane === 'inspection' ? 'divert.unmatched' : 'alarm.divert-unmatched',
          null,
          input.atMono,
          base,
        ),
      );
      return;
    }
    const expected = best.decided?.outlet ?? null;
    if (expected === outlet.id) {
      best.confirm = 'confirmed';
      out.events.push(ev('divert.confirmed', best.id, input.atMono, base));
      return;
    }
    best.confirm = 'missorted';
    out.events.push(
      ev('alarm.missort', best.id, input.atMono, {
        ...base,
        expectedOutlet: expected,
        expectedLane: best.decided?.lane ?? null,
        severity: best.decided?.lane === 'inspection' ? 'critical' : 'major',
      }),
    );
  }
}

/** The outlet is reached through a gate (GPIO) or handed to a sorter PLC. */
function hasDivert(o: Outlet): boolean {
  return o.geom.gateId !== undefined || (o.geom.gateMode === 'plc' && o.geom.plc !== undefined);
}

function samePlc(a: Outlet, b: Outlet): boolean {
  return (
    a.geom.gateMode === 'plc' &&
    b.geom.gateMode === 'plc' &&
    a.geom.plc !== undefined &&
    a.geom.plc.plcId === b.geom.plc?.plcId
  );
}

/** A PLC hand-off for the parcel, with every key a PLC may know it by. */
function plcCommand(
  p: TrackedParcel,
  action: PlcDivertCommand['action'],
  outlet: Outlet,
  lane: Lane,
  atMono: number,
  atDiverterMono: number | null,
): PlcDivertCommand {
  const plc = outlet.geom.plc as NonNullable<Outlet['geom']['plc']>;
  return {
    kind: 'plcDivert',
    action,
    plcId: plc.plcId,
    gateId: outlet.geom.gateId ?? outlet.id,
    parcelId: p.id,
    code: p.code,
    keys: {
      waybill: p.code,
      plcTracking: p.ids.plcTracking ?? null,
      inductionSeq: p.inductionSeq,
    },
    seq: ++p.handOffSeq,
    lane,
    outlet: outlet.id,
    destination: plc.destination,
    issuedAtMono: atMono,
    atDiverterMono,
  };
}
