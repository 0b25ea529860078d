import { DEFAULT_RULES, FAIL_SAFE_RULE, RuleSet, failSafeViolation } from './rules.js';
import type { ParcelFacts, RuleOutcome } from './rules.js';
import { BeltTracker } from './tracking.js';
import type {
  BarcodeInput,
  CtVerdictInput,
  DeviceStatusInput,
  EngineConfig,
  EngineEventDraft,
  EngineInput,
  EngineOutput,
  LaneConfirmInput,
  LaneGeometry,
  Lane,
  LineStateInput,
  PhotoEyeInput,
  TargetingLookup,
  WeightInput,
} from './types.js';

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

interface Outlet {
  id: string;
  lane: Lane;
  geom: LaneGeometry;
}

interface TrackedParcel extends ParcelFacts {
  id: string;
  inductedAtMono: number;
  startMm: number;
  lengthMm: number | null;
  scanId: string | null;
  imageId: string | null;
  targetingVersion: string | null;
  decided: (RuleOutcome & { atMono: number }) | null;
  /** the divert: gpio command state or plc hand-off */
  gate: { outlet: Outlet; fireAtMono: number | null; issued: boolean; done: boolean } | null;
  confirm: 'none' | 'pending' | 'confirmed' | 'missorted' | 'unconfirmed';
}

export interface TrackingSnapshot {
  lineId: string;
  takenAtMono: number;
  parcels: { id: string; code: string | null; lane: Lane | null; ruleId: string | null }[];
}

/** a GPIO command is withdrawn and re-sent when its time moves by more than this */
/** a divert this late (a few cm at line speed) still catches the parcel; later, it runs on */
const LATE_FIRE_MS = 30;
const RETIME_TOLERANCE_MS = { time: 2, encoder: 10 };

export class LineEngine {
  private readonly parcels: TrackedParcel[] = [];
  private readonly rules: RuleSet;
  private readonly tracker: BeltTracker;
  private readonly outlets = new Map<string, Outlet>();
  private readonly firstGateMm: number;
  private readonly lastPositionMm: number;
  private readonly confirmWindowMm: number;
  private targeting: TargetingLookup | null = null;
  private lineState: LineStateInput['state'] = 'running';
  private blockedSince: number | null = null;
  private ctDown: string | null = null;
  private scannerDown: string | null = null;
  private trackingDown: string | null = null;
  private staleReported = false;

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
    this.firstGateMm = Math.min(...all.filter((o) => o.geom.gateId).map((o) => o.geom.positionMm));
    this.lastPositionMm = Math.max(...all.map((o) => o.geom.positionMm));
    this.confirmWindowMm = config.divertConfirmWindowMm ?? 300;
  }

  /** Parcels currently tracked (for the status page and health). */
  trackedCount(): number {
    return this.parcels.length;
  }

  get state(): { line: string; ctDown: string | null; scannerDown: string | null } {
    return { line: this.lineState, ctDown: this.ctDown, scannerDown: this.scannerDown };
  }

  /** Replace the targeting list (atomically: one reference). Decided parcels are re-checked. */
  setTargeting(list: TargetingLookup | null, nowMono: number): EngineOutput {
    this.targeting = list;
    const out = newOutput();
    for (const p of this.parcels) this.refreshTargeting(p, out, nowMono);
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
        this.onBarcode(input, out);
        break;
      case 'ctVerdict':
        this.onVerdict(input, out);
        break;
      case 'weight':
        this.onWeight(input, out);
        break;
      case 'deviceStatus':
        this.onDeviceStatus(input, out);
        break;
      case 'beltSpeed':
        this.tracker.setSpeed(input.atMono, input.mmPerS);
        this.retime(out, 'belt speed changed', input.atMono);
        break;
      case 'encoder':
        if (input.deviceId === (this.config.tracking?.encoderId ?? input.deviceId)) {
          this.tracker.encoder(input.atMono, input.count);
          this.staleReported = false;
          this.retime(out, 'encoder speed changed', input.atMono);
        }
        break;
      case 'lineState':
        this.onLineState(input, out);
        break;
      case 'laneConfirm':
        this.onLaneConfirm(input, out);
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
        next = Math.min(next, this.deadlineMono(p));
        if (p.codeState === 'pending')
          next = Math.min(next, this.windowEnd(p, this.config.scanner));
        if (p.weightState === 'pending' && this.config.scale)
          next = Math.min(next, this.windowEnd(p, this.config.scale));
        continue;
      }
      const g = p.gate;
      if (g && !g.done && g.fireAtMono !== null) {
        if (!g.issued && lead !== undefined) next = Math.min(next, g.fireAtMono - lead);
        next = Math.min(next, g.fireAtMono);
      }
      next = Math.min(next, this.exitMono(p));
    }
    if (this.blockedSince !== null && this.lineState === 'running' && this.config.jamTimeoutMs)
      next = Math.min(next, this.blockedSince + this.config.jamTimeoutMs);
    const stale = this.tracker.staleAtMono();
    if (stale !== null && !this.staleReported && this.parcels.length > 0)
      next = Math.min(next, stale);
    return Number.isFinite(next) ? next : null;
  }

  /** A small snapshot of what is in flight, persisted by the runner for a restart. */
  snapshot(nowMono: number): TrackingSnapshot {
    return {
      lineId: this.config.lineId,
      takenAtMono: nowMono,
      parcels: this.parcels.map((p) => ({
        id: p.id,
        code: p.code,
        lane: p.decided?.lane ?? null,
        ruleId: p.decided?.ruleId ?? null,
      })),
    };
  }

  /**
   * After a gateway restart: the parcels the previous run was tracking are unknown (their
   * position is lost, and the gate controller dropped its commands when the gateway went away),
   * so they physically run straight on to inspection. Record that decision for each of them.
   */
  restore(snapshot: TrackingSnapshot | null, nowMono: number): EngineOutput {
    const out = newOutput();
    if (!snapshot) return out;
    for (const p of snapshot.parcels) {
      out.events.push(
        ev('parcel.decided', p.id, nowMono, {
          lineId: this.config.lineId,
          lane: 'inspection',
          outlet: 'inspection',
          ruleId: 'tracking',
          reason: 'tracking unknown: gateway restarted while the parcel was on the line',
          code: p.code,
          revised: p.lane !== null,
          previousLane: p.lane,
          previousRuleId: p.ruleId,
        }),
      );
    }
    out.events.push(
      ev('tracking.restored', null, nowMono, {
        lineId: this.config.lineId,
        parcels: snapshot.parcels.length,
        snapshotAtMono: snapshot.takenAtMono,
      }),
    );
    return out;
  }

  // ---- geometry ---------------------------------------------------------------------------

  private lead(p: TrackedParcel, atMono: number): number {
    return this.tracker.mmAt(atMono) - p.startMm;
  }

  private lengthOf(p: TrackedParcel): number {
    return p.lengthMm ?? this.config.defaultParcelLengthMm;
  }

  private reachMono(p: TrackedParcel, positionMm: number): number {
    return this.tracker.monoWhen(p.startMm + positionMm) ?? Infinity;
  }

  private deadlineMono(p: TrackedParcel): number {
    const { actuationLeadMs, marginMs } = this.config.decision;
    return this.reachMono(p, this.firstGateMm) - actuationLeadMs - marginMs;
  }

  private windowEnd(p: TrackedParcel, d: { positionMm: number; toleranceMm: number }): number {
    return this.reachMono(p, d.positionMm + this.lengthOf(p) + d.toleranceMm);
  }

  private exitMono(p: TrackedParcel): number {
    return this.reachMono(p, this.lastPositionMm + this.lengthOf(p) + this.confirmWindowMm);
  }

  private fireAt(p: TrackedParcel, o: Outlet): number | null {
    const at = this.tracker.monoWhen(p.startMm + o.geom.positionMm);
    return at === null ? null : at - this.config.decision.actuationLeadMs;
  }

  /** The parcel whose body covers `positionMm` (within tolerance) at `atMono`, nearest first. */
  private match(positionMm: number, toleranceMm: number, atMono: number): TrackedParcel | null {
    let best: TrackedParcel | null = null;
    let bestDistance = Infinity;
    const odo = this.tracker.mmAt(atMono);
    for (const p of this.parcels) {
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

  // ---- inputs -----------------------------------------------------------------------------

  private onPhotoEye(input: PhotoEyeInput, out: EngineOutput): void {
    if (input.deviceId !== this.config.inductionPhotoEyeId) {
      out.events.push(ev('photoeye.ignored', null, input.atMono, { deviceId: input.deviceId }));
      return;
    }
    if (input.edge === 'trailing') {
      if (this.blockedSince === null) {
        out.events.push(ev('photoeye.pulse-lost', null, input.atMono, { edge: 'leading' }));
        return;
      }
      this.blockedSince = null;
      const last = this.parcels.at(-1);
      if (last && last.lengthMm === null)
        last.lengthMm = Math.max(1, Math.round(this.lead(last, input.atMono)));
      if (this.lineState === 'jam') this.resume(input.atMono, 'jam cleared at the photo-eye', out);
      return;
    }
    if (this.blockedSince !== null) {
      // a leading edge while blocked: the trailing edge of the last parcel was lost
      out.events.push(ev('photoeye.pulse-lost', null, input.atMono, { edge: 'trailing' }));
      if (this.lineState === 'jam') this.resume(input.atMono, 'photo-eye cleared', out);
    }
    this.blockedSince = input.atMono;
    const frozen = this.lineState !== 'running' ? `inducted while line ${this.lineState}` : null;
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
      weightState: this.config.scale ? 'pending' : 'missing',
      weightKg: null,
      targetingHit: null,
      targetingVersion: null,
      unknown: frozen ?? this.trackingDown,
      deviceLost: this.ctDown ?? this.scannerDown,
      decided: null,
      gate: null,
      confirm: 'none',
    };
    this.parcels.push(parcel);
    out.events.push(
      ev('parcel.inducted', parcel.id, input.atMono, {
        lineId: this.config.lineId,
        photoEyeId: input.deviceId,
        deadlineMono: Math.round(this.deadlineMono(parcel)),
        unknown: parcel.unknown,
        deviceLost: parcel.deviceLost,
      }),
    );
  }

  private onBarcode(input: BarcodeInput, out: EngineOutput): void {
    const { positionMm, toleranceMm } = this.config.scanner;
    const p = this.match(positionMm, toleranceMm, input.atMono);
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
      if (!same) this.recheck(p, out, input.atMono);
      return;
    }
    if (p.codeState !== 'pending') return;
    p.code = input.code;
    p.codeState = 'read';
    out.events.push(
      ev('parcel.identified', p.id, input.atMono, { deviceId: input.deviceId, code: input.code }),
    );
    this.refreshTargeting(p, out, input.atMono);
  }

  private onVerdict(input: CtVerdictInput, out: EngineOutput): void {
    const { positionMm, toleranceMm } = this.config.ct;
    const p = this.match(positionMm, toleranceMm, input.scannedAtMono);
    const payload = {
      deviceId: input.deviceId,
      verdict: input.verdict,
      scanId: input.scanId,
      imageId: input.imageId,
      scannedAtMono: input.scannedAtMono,
    };
    if (!p) {
      out.events.push(ev('ct.unmatched', null, input.scannedAtMono, payload));
      return;
    }
    if (p.verdict !== null) {
      const same = p.scanId === input.scanId;
      if (!same) p.ctConflict = true;
      out.events.push(
        ev(same ? 'ct.duplicate' : 'ct.conflict', p.id, input.scannedAtMono, payload),
      );
      if (!same) this.recheck(p, out, input.scannedAtMono);
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

  private onWeight(input: WeightInput, out: EngineOutput): void {
    const scale = this.config.scale;
    const p = scale ? this.match(scale.positionMm, scale.toleranceMm, input.atMono) : null;
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

  private onDeviceStatus(input: DeviceStatusInput, out: EngineOutput): void {
    const { role, ok, deviceId, atMono } = input;
    const isCt = role === 'ct' || deviceId === this.config.ct.deviceId;
    const isScanner = role === 'scanner' || deviceId === this.config.scanner.deviceId;
    const isTracking =
      this.config.tracking?.mode === 'encoder' &&
      (role === 'plc' || deviceId === this.config.tracking.encoderId);
    const reason = `${deviceId}: ${input.reason}`;
    out.events.push(
      ev(ok ? 'device.restored' : 'alarm.device-lost', null, atMono, {
        ...input,
        lineId: this.config.lineId,
      }),
    );
    if (isCt) {
      this.ctDown = ok ? null : `CT link lost (${reason})`;
      if (!ok)
        for (const p of this.parcels)
          if (p.verdict === null) this.lose(p, this.ctDown, out, atMono);
    }
    if (isScanner) {
      this.scannerDown = ok ? null : `scanner link lost (${reason})`;
      if (!ok)
        for (const p of this.parcels)
          if (p.codeState === 'pending') this.lose(p, this.scannerDown, out, atMono);
    }
    if (isTracking) {
      this.trackingDown = ok ? null : `tracking source lost (${reason})`;
      if (!ok) this.markAllUnknown(this.trackingDown ?? reason, atMono, out);
    }
  }

  private lose(p: TrackedParcel, reason: string | null, out: EngineOutput, atMono: number): void {
    p.deviceLost ??= reason;
    this.recheck(p, out, atMono);
  }

  private onLineState(input: LineStateInput, out: EngineOutput): void {
    const previous = this.lineState;
    out.events.push(
      ev(
        input.state === 'running' || input.state === 'stopped'
          ? 'line.state'
          : `alarm.${input.state}`,
        null,
        input.atMono,
        {
          lineId: this.config.lineId,
          deviceId: input.deviceId,
          state: input.state,
          previous,
          reason: input.reason ?? null,
        },
      ),
    );
    if (input.state === 'running') {
      if (previous !== 'running') this.resume(input.atMono, input.reason ?? 'line running', out);
      return;
    }
    this.lineState = input.state;
    this.tracker.setRunning(input.atMono, false);
    if (input.state === 'estop' || input.state === 'jam')
      this.markAllUnknown(
        `${input.state}${input.reason ? `: ${input.reason}` : ''}`,
        input.atMono,
        out,
      );
    this.retime(out, `line ${input.state}`, input.atMono);
  }

  private resume(atMono: number, reason: string, out: EngineOutput): void {
    this.lineState = 'running';
    this.tracker.setRunning(atMono, true);
    if (this.blockedSince !== null) this.blockedSince = atMono;
    this.retime(out, 'line resumed', atMono);
    out.events.push(ev('line.resumed', null, atMono, { lineId: this.config.lineId, reason }));
  }

  private onLaneConfirm(input: LaneConfirmInput, out: EngineOutput): void {
    const outlet =
      [...this.outlets.values()].find((o) => o.geom.confirmPhotoEyeId === input.deviceId) ??
      this.outlets.get(input.lane);
    if (!outlet) return;
    const w = this.confirmWindowMm;
    let best: TrackedParcel | null = null;
    let bestDistance = Infinity;
    const odo = this.tracker.mmAt(input.atMono);
    for (const p of this.parcels) {
      if (!p.decided || p.unknown || p.confirm === 'confirmed') continue;
      const lead = odo - p.startMm;
      const pos = outlet.geom.positionMm;
      if (lead < pos - w || lead > pos + this.lengthOf(p) + w) continue;
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

  // ---- decisions --------------------------------------------------------------------------

  private refreshTargeting(p: TrackedParcel, out: EngineOutput, atMono: number): void {
    const list = this.targeting;
    if (!list || p.code === null || p.codeState !== 'read' || p.targetingVersion === list.version)
      return;
    p.targetingVersion = list.version;
    const hit = list.match(p.code);
    if (!hit || p.targetingHit) return;
    p.targetingHit = hit;
    out.events.push(ev('targeting.hit', p.id, atMono, { code: p.code, ...hit }));
    this.recheck(p, out, atMono);
  }

  private markAllUnknown(reason: string, atMono: number, out: EngineOutput): void {
    let count = 0;
    for (const p of this.parcels) {
      if (p.gate?.done) continue;
      p.unknown ??= reason;
      count++;
      this.recheck(p, out, atMono);
    }
    out.events.push(
      ev('tracking.lost', null, atMono, { lineId: this.config.lineId, reason, parcels: count }),
    );
  }

  /** Something changed on a decided parcel: re-apply the fail-safe. */
  private recheck(p: TrackedParcel, out: EngineOutput, atMono: number): void {
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
      out.events.push(
        ev('alarm.after-divert', p.id, atMono, {
          reason: o.reason,
          lane: previous?.lane,
          outlet: g.outlet.id,
          severity: 'critical',
        }),
      );
      return;
    }
    if (g) this.withdraw(p, atMono, o.reason, out);
    p.gate = null;
    p.confirm = 'none';
    p.decided = { ...o, atMono };
    out.events.push(
      this.decisionEvent(p, atMono, {
        revised: true,
        previousLane: previous?.lane ?? null,
        previousRuleId: previous?.ruleId ?? null,
      }),
    );
  }

  private withdraw(p: TrackedParcel, atMono: number, reason: string, out: EngineOutput): void {
    const g = p.gate;
    if (!g || !g.issued || g.done) return;
    const geom = g.outlet.geom;
    if (geom.gateMode === 'plc' && geom.plc) {
      out.plcCommands.push({
        kind: 'plcDivert',
        action: 'revoke',
        plcId: geom.plc.plcId,
        gateId: geom.gateId ?? g.outlet.id,
        parcelId: p.id,
        code: p.code,
        lane: g.outlet.lane,
        outlet: g.outlet.id,
        destination: geom.plc.destination,
        issuedAtMono: atMono,
        atDiverterMono: g.fireAtMono,
      });
    } else if (geom.gateId && g.fireAtMono !== null) {
      out.gateCancels.push({
        gateId: geom.gateId,
        parcelId: p.id,
        fireAtMono: g.fireAtMono,
        reason,
      });
    }
    g.issued = false;
  }

  /** Belt speed changed or the line stopped: withdraw GPIO commands whose time moved. */
  private retime(out: EngineOutput, reason: string, atMono: number): void {
    for (const p of this.parcels) {
      const g = p.gate;
      if (!g || g.done || g.outlet.geom.gateMode === 'plc') continue;
      const at = this.fireAt(p, g.outlet);
      if (
        g.issued &&
        (at === null ||
          g.fireAtMono === null ||
          Math.abs(at - g.fireAtMono) > RETIME_TOLERANCE_MS[this.config.tracking?.mode ?? 'time'])
      )
        this.withdraw(p, atMono, reason, out);
      g.fireAtMono = at;
    }
  }

  private decide(p: TrackedParcel, rule: RuleOutcome, nowMono: number, out: EngineOutput): void {
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
    if (outlet?.geom.gateId) {
      p.gate = { outlet, fireAtMono: this.fireAt(p, outlet), issued: false, done: false };
    }
    if (outlet?.geom.confirmPhotoEyeId && !p.unknown) p.confirm = 'pending';
    out.events.push(this.decisionEvent(p, nowMono, {}));
    this.issue(p, nowMono, out);
  }

  private decisionEvent(
    p: TrackedParcel,
    nowMono: number,
    extra: Record<string, unknown>,
  ): EngineEventDraft {
    const d = p.decided;
    const g = p.gate;
    return ev('parcel.decided', p.id, nowMono, {
      lineId: this.config.lineId,
      lane: d?.lane,
      outlet: d?.outlet,
      ruleId: d?.ruleId,
      reason: d?.reason,
      customsMode: d?.customsMode ?? null,
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
      slackMs: Math.round(this.deadlineMono(p) - nowMono),
      ...extra,
    });
  }

  /** Send the divert when due (GPIO: `gateCommandLeadMs` before it fires; PLC: at once). */
  private issue(p: TrackedParcel, nowMono: number, out: EngineOutput): void {
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
      out.plcCommands.push({
        kind: 'plcDivert',
        action: 'divert',
        plcId: plc.plcId,
        gateId: geom.gateId ?? g.outlet.id,
        parcelId: p.id,
        code: p.code,
        lane: d.lane,
        outlet: g.outlet.id,
        destination: plc.destination,
        issuedAtMono: nowMono,
        atDiverterMono: g.fireAtMono,
      });
    } else if (geom.gateId) {
      out.gateCommands.push({
        gateId: geom.gateId,
        parcelId: p.id,
        lane: d.lane,
        fireAtMono: g.fireAtMono,
      });
    }
  }

  private runTimers(nowMono: number, out: EngineOutput): void {
    const stale = this.tracker.staleAtMono();
    if (stale !== null && nowMono >= stale && !this.staleReported && this.parcels.length > 0) {
      this.staleReported = true;
      this.markAllUnknown('encoder silent: tracking lost', nowMono, out);
    }
    const jam = this.config.jamTimeoutMs;
    if (
      jam &&
      this.blockedSince !== null &&
      this.lineState === 'running' &&
      nowMono >= this.blockedSince + jam
    ) {
      this.lineState = 'jam';
      this.tracker.setRunning(this.blockedSince + jam, false);
      out.events.push(
        ev('alarm.jam', null, nowMono, {
          lineId: this.config.lineId,
          blockedSinceMono: this.blockedSince,
          deviceId: this.config.inductionPhotoEyeId,
        }),
      );
      this.markAllUnknown('jam at the induction photo-eye', nowMono, out);
      this.retime(out, 'jam', nowMono);
    }
    for (const p of this.parcels) {
      if (p.codeState === 'pending' && nowMono >= this.windowEnd(p, this.config.scanner)) {
        p.codeState = 'noread';
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
        nowMono >= this.windowEnd(p, this.config.scale)
      ) {
        p.weightState = 'missing';
        out.events.push(ev('parcel.weight-missing', p.id, nowMono, {}));
      }
      if (!p.decided) {
        if (p.targetingVersion !== (this.targeting?.version ?? null))
          this.refreshTargeting(p, out, nowMono);
        const rule = this.rules.evaluate(p, nowMono >= this.deadlineMono(p));
        if (rule) this.decide(p, rule, nowMono, out);
        continue;
      }
      const g = p.gate;
      if (g && !g.done) {
        if (!g.issued) this.issue(p, nowMono, out);
        if (p.gate && g.issued && g.fireAtMono !== null && nowMono >= g.fireAtMono) g.done = true;
      }
    }
    this.forget(nowMono, out);
  }

  private forget(nowMono: number, out: EngineOutput): void {
    let write = 0;
    for (const p of this.parcels) {
      const gone = p.decided !== null && (!p.gate || p.gate.done) && nowMono >= this.exitMono(p);
      if (!gone) {
        this.parcels[write++] = p;
        continue;
      }
      if (p.confirm === 'pending') {
        out.events.push(
          ev('alarm.divert-unconfirmed', p.id, nowMono, {
            outlet: p.decided?.outlet,
            lane: p.decided?.lane,
          }),
        );
      }
    }
    this.parcels.length = write;
  }
}

function newOutput(): EngineOutput {
  return { events: [], gateCommands: [], gateCancels: [], plcCommands: [] };
}

function ev(
  type: string,
  parcelId: string | null,
  atMono: number,
  payload: Record<string, unknown>,
): EngineEventDraft {
  return { type, parcelId, atMono, payload };
}
