import { BeltOccupancy, type BeltClearance } from './belt-clearance.js';
import { DivertPlanner } from './divert.js';
import {
  ev,
  newOutput,
  restoreOutput,
  takeSnapshot,
  type Outlet,
  type TrackedParcel,
  type TrackingSnapshot,
} from './parcel.js';
import { ParcelIdentity } from './identity.js';
import { ParcelIdPlacement } from './parcel-ids.js';
import { LineCondition } from './line-condition.js';
import { LinePositions } from './positions.js';
import { DEFAULT_RULES, RuleSet } from './rules.js';
import { BeltTracker } from './tracking.js';
import type {
  EngineConfig,
  EngineInput,
  EngineOutput,
  PhotoEyeInput,
  TargetingLookup,
  WeightInput,
} from './types.js';
import { VerdictPlacement } from './verdicts.js';

export type { TrackingSnapshot } from './parcel.js';
export type { BeltClearance } from './belt-clearance.js';

export interface ParcelView {
  id: string;
  code: string | null;
  /** leading edge, mm from the induction photo-eye */
  leadMm: number;
  lengthMm: number;
  verdict: string | null;
  lane: string | null;
  outlet: string | null;
  ruleId: string | null;
  reason: string | null;
}

/**
 * The line engine: pure. Inputs (device events) and the current monotonic time go in; event
 * drafts and gate / PLC commands come out. No I/O, no timers: the caller asks `nextWakeMono()`
 * and calls `advance(now)` then.
 *
 * Tracking: a belt odometer (tracking.ts, time-based or encoder); each parcel stores the reading
 * at induction, its position is the difference. Devices have positions; an event is matched to
 * the parcel whose body covers the device (within tolerance) at the event's moment.
 *
 * Fail-safe: the inspection lane is straight through (no gate), so a parcel goes to pass only
 * if the engine actively fires the pass gate for it. `decide` and the gate issue path check
 * `failSafeViolation` on every pass / exception decision whatever the configured rules say.
 */

export class LineEngine {
  private readonly parcels: TrackedParcel[] = [];
  private readonly rules: RuleSet;
  private readonly tracker: BeltTracker;
  private readonly outlets = new Map<string, Outlet>();
  private readonly pos: LinePositions;
  private readonly diverts: DivertPlanner;
  private readonly line: LineCondition;
  private readonly identity: ParcelIdentity;
  private readonly verdicts: VerdictPlacement;
  private readonly parcelIds: ParcelIdPlacement;
  private readonly occupancy: BeltOccupancy;
  private inductions = 0;

  constructor(
    private readonly config: EngineConfig,
    private readonly newParcelId: () => string,
    startMono = 0,
  ) {
    this.rules = new RuleSet(config.rules ?? DEFAULT_RULES);
    const t = config.tracking;
    this.tracker = new BeltTracker(
      {
        mode: t?.mode ?? 'time',
        nominalMmPerS: config.beltSpeedMmPerS,
        mmPerCount: t?.mmPerCount ?? 1,
        staleMs: t?.encoderStaleMs ?? 500,
        horizonMs: 120_000,
      },
      startMono,
    );
    const { lanes } = config;
    this.outlets.set('inspection', {
      id: 'inspection',
      lane: 'inspection',
      geom: lanes.inspection,
    });
    this.outlets.set('exception', { id: 'exception', lane: 'exception', geom: lanes.exception });
    this.outlets.set('pass', { id: 'pass', lane: 'pass', geom: lanes.pass });
    for (const o of config.outlets ?? [])
      this.outlets.set(o.id, { id: o.id, lane: 'pass', geom: o });
    const all = [...this.outlets.values()];
    this.pos = new LinePositions(
      config,
      this.tracker,
      Math.min(...all.filter((o) => o.geom.gateId).map((o) => o.geom.positionMm)),
      Math.max(...all.map((o) => o.geom.positionMm)),
      config.divertConfirmWindowMm ?? 300,
    );
    this.diverts = new DivertPlanner(config, this.pos, this.outlets);
    this.line = new LineCondition(config, this.parcels, this.tracker, this.pos, this.diverts);
    this.identity = new ParcelIdentity(config, this.parcels, this.pos, this.diverts);
    this.verdicts = new VerdictPlacement(config, this.parcels, this.pos, this.diverts);
    this.parcelIds = new ParcelIdPlacement(config, this.parcels, this.pos, this.diverts);
    this.occupancy = new BeltOccupancy(
      config,
      this.tracker,
      this.pos.lastPositionMm,
      this.pos.confirmWindowMm,
      startMono,
    );
  }

  /** Parcels currently tracked (for the status page and health). */
  trackedCount(): number {
    return this.parcels.length;
  }

  /**
   * Whether the belt can still carry a parcel, tracked or not (belt-clearance.ts): the engine's
   * start and a restore count as occupied, as does every tracked parcel; clear after one full
   * belt transit since. The hand-jog interlock fires no gate on a moving belt before that.
   */
  beltClearance(nowMono: number): BeltClearance {
    return this.occupancy.report(nowMono, this.parcels.length);
  }

  /**
   * Tracked parcels a hand fire of `gateId` could divert: those whose tail has not passed that
   * gate (every tracked parcel for a gate no lane names). The jog interlock refuses the fire while
   * there is one, stopped belt or not.
   */
  parcelsBeforeGate(gateId: string, nowMono: number): number {
    const lane = [...this.outlets.values()].find((o) => o.geom.gateId === gateId);
    if (!lane) return this.parcels.length;
    const at = lane.geom.positionMm;
    return this.parcels.filter((p) => this.pos.lead(p, nowMono) - this.pos.lengthOf(p) <= at)
      .length;
  }

  get state(): { line: string; ctDown: string | null; scannerDown: string | null } {
    return this.line.state;
  }

  /** Where each tracked parcel is now and what is decided for it (the console's belt picture). */
  view(nowMono: number): { speedMmPerS: number; parcels: ParcelView[] } {
    return {
      speedMmPerS: Math.round(this.tracker.speedNow() * 1000),
      parcels: this.parcels.map((p) => ({
        id: p.id,
        code: p.code,
        leadMm: Math.round(this.pos.lead(p, nowMono)),
        lengthMm: this.pos.lengthOf(p),
        verdict: p.verdict,
        lane: p.decided?.lane ?? null,
        outlet: p.decided?.outlet ?? null,
        ruleId: p.decided?.ruleId ?? null,
        reason: p.decided?.reason ?? p.unknown ?? p.deviceLost,
      })),
    };
  }

  /** Replace the targeting list (atomically: one reference). Decided parcels are re-checked. */
  setTargeting(list: TargetingLookup | null, nowMono: number): EngineOutput {
    this.identity.setTargeting(list);
    const out = newOutput();
    for (const p of this.parcels) this.identity.refreshTargeting(p, out, nowMono);
    this.runTimers(nowMono, out);
    return out;
  }

  handle(input: EngineInput, nowMono: number): EngineOutput {
    const out = newOutput();
    switch (input.type) {
      case 'photoEye':
        this.onPhotoEye(input, out);
        break;
      case 'barcode':
        this.identity.barcode(input, out);
        break;
      case 'ctVerdict':
        this.verdicts.ct(input, out, nowMono);
        break;
      case 'parcelId':
        this.parcelIds.handle(input, out, nowMono);
        break;
      case 'weight':
        this.onWeight(input, out);
        break;
      case 'officerVerdict':
        this.verdicts.officer(input, out);
        break;
      case 'deviceStatus':
        this.line.deviceStatus(input, out);
        break;
      case 'beltSpeed':
        this.tracker.setSpeed(input.atMono, input.mmPerS);
        this.diverts.retime(this.parcels, out, 'belt speed changed', input.atMono);
        break;
      case 'encoder':
        this.line.encoder(input, out);
        break;
      case 'lineState':
        this.line.lineStateChanged(input, out);
        break;
      case 'laneConfirm':
        this.diverts.confirm(this.parcels, input, out);
        break;
    }
    this.runTimers(nowMono, out);
    return out;
  }

  /** Apply every time-driven transition due at `nowMono`. */
  advance(nowMono: number): EngineOutput {
    const out = newOutput();
    this.runTimers(nowMono, out);
    return out;
  }

  /** The next time `advance` has something to do, or null when nothing is waiting. */
  nextWakeMono(): number | null {
    let next = Infinity;
    const lead = this.config.gateCommandLeadMs;
    for (const p of this.parcels) {
      if (!p.decided) {
        next = Math.min(next, this.pos.deadlineMono(p));
        if (p.codeState === 'pending')
          next = Math.min(next, this.pos.windowEnd(p, this.config.scanner));
        if (p.weightState === 'pending' && this.config.scale)
          next = Math.min(next, this.pos.windowEnd(p, this.config.scale));
        continue;
      }
      const g = p.gate;
      if (g && !g.done && g.fireAtMono !== null) {
        if (!g.issued && lead !== undefined) next = Math.min(next, g.fireAtMono - lead);
        next = Math.min(
          next,
          g.issued && g.sentFireAtMono != null ? g.sentFireAtMono : g.fireAtMono,
        );
      }
      next = Math.min(next, this.pos.exitMono(p));
    }
    next = Math.min(next, this.line.nextWakeMono(), this.parcelIds.nextWakeMono() ?? Infinity);
    return Number.isFinite(next) ? next : null;
  }

  /** A small snapshot of what is in flight, persisted by the runner for a restart. */
  snapshot(nowMono: number): TrackingSnapshot {
    return takeSnapshot(this.config.lineId, this.parcels, nowMono);
  }

  /**
   * After a gateway restart: the parcels the previous run was tracking are unknown (their
   * position is lost, and the gate controller dropped its commands when the gateway went away),
   * so they physically run straight on to inspection. Record that decision for each of them.
   */
  restore(snapshot: TrackingSnapshot | null, nowMono: number): EngineOutput {
    this.occupancy.possiblyOccupiedAt(nowMono, this.parcels.length);
    return restoreOutput(this.config.lineId, snapshot, nowMono);
  }

  // ---- inputs -----------------------------------------------------------------------------

  private onPhotoEye(input: PhotoEyeInput, out: EngineOutput): void {
    if (input.deviceId !== this.config.inductionPhotoEyeId) {
      out.events.push(ev('photoeye.ignored', null, input.atMono, { deviceId: input.deviceId }));
      return;
    }
    if (!this.line.photoEye(input, out)) return;
    const seq = ++this.inductions;
    const parcel: TrackedParcel = {
      id: this.newParcelId(),
      inductedAtMono: input.atMono,
      startMm: this.tracker.mmAt(input.atMono),
      lengthMm: null,
      code: null,
      codeState: 'pending',
      verdict: null,
      ctConflict: false,
      scanId: null,
      imageId: null,
      ids: { induction: String(seq) },
      readTimedOut: false,
      inductionSeq: seq,
      handOffSeq: 0,
      weightState: this.config.scale ? 'pending' : 'missing',
      weightKg: null,
      targetingHit: null,
      targetingVersion: null,
      unknown: this.line.inductionUnknown(),
      deviceLost: this.line.inductionDeviceLost(),
      decided: null,
      gate: null,
      confirm: 'none',
    };
    this.parcels.push(parcel);
    this.occupancy.occupied();
    out.events.push(
      ev('parcel.inducted', parcel.id, input.atMono, {
        lineId: this.config.lineId,
        photoEyeId: input.deviceId,
        deadlineMono: Math.round(this.pos.deadlineMono(parcel)),
        unknown: parcel.unknown,
        deviceLost: parcel.deviceLost,
        inductionSeq: seq,
      }),
    );
    this.parcelIds.inducted(out);
  }

  private onWeight(input: WeightInput, out: EngineOutput): void {
    const scale = this.config.scale;
    const p = scale
      ? this.pos.match(this.parcels, scale.positionMm, scale.toleranceMm, input.atMono)
      : null;
    if (!p) {
      out.events.push(ev('weight.unmatched', null, input.atMono, { ...input }));
      return;
    }
    if (p.weightState !== 'pending') return;
    p.weightKg = input.kg;
    p.weightState = input.kg === null ? 'missing' : 'ok';
    out.events.push(
      ev('parcel.weighed', p.id, input.atMono, {
        deviceId: input.deviceId,
        kg: input.kg,
        status: input.status,
      }),
    );
  }

  // ---- decisions --------------------------------------------------------------------------

  private runTimers(nowMono: number, out: EngineOutput): void {
    this.line.runTimers(nowMono, out);
    this.parcelIds.expire(nowMono, out);
    for (const p of this.parcels) {
      if (p.codeState === 'pending' && nowMono >= this.pos.windowEnd(p, this.config.scanner)) {
        p.codeState = 'noread';
        p.readTimedOut = true;
        out.events.push(
          ev('parcel.noread', p.id, nowMono, {
            deviceId: null,
            code: null,
            reason: 'no-read-in-window',
          }),
        );
      }
      if (
        p.weightState === 'pending' &&
        this.config.scale &&
        nowMono >= this.pos.windowEnd(p, this.config.scale)
      ) {
        p.weightState = 'missing';
        out.events.push(ev('parcel.weight-missing', p.id, nowMono, {}));
      }
      if (!p.decided) {
        if (p.targetingVersion !== this.identity.targetingVersion)
          this.identity.refreshTargeting(p, out, nowMono);
        const rule = this.rules.evaluate(p, nowMono >= this.pos.deadlineMono(p));
        if (rule) this.diverts.decide(p, rule, nowMono, out);
        continue;
      }
      const g = p.gate;
      if (g && !g.done) {
        if (!g.issued) this.diverts.issue(p, nowMono, out);
        // done when the gate really acts: the time in the command sent (GPIO), else the estimate
        const actsAt = g.sentFireAtMono ?? g.fireAtMono;
        if (p.gate && g.issued && actsAt !== null && nowMono >= actsAt) g.done = true;
      }
    }
    this.forget(nowMono, out);
  }

  private forget(nowMono: number, out: EngineOutput): void {
    let write = 0;
    for (const p of this.parcels) {
      const gone =
        p.decided !== null && (!p.gate || p.gate.done) && nowMono >= this.pos.exitMono(p);
      if (!gone) {
        this.parcels[write++] = p;
        continue;
      }
      this.verdicts.left(p, nowMono);
      if (p.confirm === 'pending') {
        out.events.push(
          ev('alarm.divert-unconfirmed', p.id, nowMono, {
            outlet: p.decided?.outlet,
            lane: p.decided?.lane,
          }),
        );
      }
    }
    const forgotten = write < this.parcels.length;
    this.parcels.length = write;
    if (forgotten && write === 0) this.occupancy.possiblyOccupiedAt(nowMono, 0);
  }
}
