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
import { LinePositions } from './positions.js';
import { DEFAULT_RULES, RuleSet } from './rules.js';
import { BeltTracker } from './tracking.js';
import type {
  BarcodeInput,
  CtVerdictInput,
  DeviceStatusInput,
  EngineConfig,
  EngineInput,
  EngineOutput,
  LineStateInput,
  PhotoEyeInput,
  TargetingLookup,
  WeightInput,
  OfficerVerdictInput,
} from './types.js';

export type { TrackingSnapshot } from './parcel.js';

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

/** Stricter verdicts win when the same scan is judged twice. */
const VERDICT_SEVERITY = { clear: 0, unknown: 1, suspect: 2 } as const;

export class LineEngine {
  private readonly parcels: TrackedParcel[] = [];
  private readonly rules: RuleSet;
  private readonly tracker: BeltTracker;
  private readonly outlets = new Map<string, Outlet>();
  private readonly pos: LinePositions;
  private readonly diverts: DivertPlanner;
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
    this.pos = new LinePositions(
      config,
      this.tracker,
      Math.min(...all.filter((o) => o.geom.gateId).map((o) => o.geom.positionMm)),
      Math.max(...all.map((o) => o.geom.positionMm)),
      config.divertConfirmWindowMm ?? 300,
    );
    this.diverts = new DivertPlanner(config, this.pos, this.outlets);
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
      case 'officerVerdict':
        this.onOfficerVerdict(input, out);
        break;
      case 'deviceStatus':
        this.onDeviceStatus(input, out);
        break;
      case 'beltSpeed':
        this.tracker.setSpeed(input.atMono, input.mmPerS);
        this.diverts.retime(this.parcels, out, 'belt speed changed', input.atMono);
        break;
      case 'encoder':
        if (input.deviceId === (this.config.tracking?.encoderId ?? input.deviceId)) {
          const discontinuity = this.tracker.encoder(input.atMono, input.count);
          this.staleReported = false;
          if (discontinuity) this.markAllUnknown(discontinuity, input.atMono, out);
          this.diverts.retime(this.parcels, out, 'encoder speed changed', input.atMono);
        }
        break;
      case 'lineState':
        this.onLineState(input, out);
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
    if (this.blockedSince !== null && this.lineState === 'running' && this.config.jamTimeoutMs)
      next = Math.min(next, this.blockedSince + this.config.jamTimeoutMs);
    const stale = this.tracker.staleAtMono();
    if (stale !== null && !this.staleReported && this.parcels.length > 0)
      next = Math.min(next, stale);
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
    return restoreOutput(this.config.lineId, snapshot, nowMono);
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
        last.lengthMm = Math.max(1, Math.round(this.pos.lead(last, input.atMono)));
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
        deadlineMono: Math.round(this.pos.deadlineMono(parcel)),
        unknown: parcel.unknown,
        deviceLost: parcel.deviceLost,
      }),
    );
  }

  private onBarcode(input: BarcodeInput, out: EngineOutput): void {
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
    if (p.codeState !== 'pending') return;
    p.code = input.code;
    p.codeState = 'read';
    out.events.push(
      ev('parcel.identified', p.id, input.atMono, { deviceId: input.deviceId, code: input.code }),
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
  }

  private onVerdict(input: CtVerdictInput, out: EngineOutput): void {
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

  private onOfficerVerdict(input: OfficerVerdictInput, out: EngineOutput): void {
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
    if (input.verdict !== 'clear') {
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
        decidedLane: p.decided?.lane ?? null,
      }),
    );
    if (input.verdict !== 'clear') this.diverts.recheck(p, out, input.atMono);
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
    this.diverts.recheck(p, out, atMono);
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
    this.diverts.retime(this.parcels, out, `line ${input.state}`, input.atMono);
  }

  private resume(atMono: number, reason: string, out: EngineOutput): void {
    this.lineState = 'running';
    this.tracker.setRunning(atMono, true);
    if (this.blockedSince !== null) this.blockedSince = atMono;
    this.diverts.retime(this.parcels, out, 'line resumed', atMono);
    out.events.push(ev('line.resumed', null, atMono, { lineId: this.config.lineId, reason }));
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
    this.diverts.recheck(p, out, atMono);
  }

  private markAllUnknown(reason: string, atMono: number, out: EngineOutput): void {
    let count = 0;
    for (const p of this.parcels) {
      if (p.gate?.done) continue;
      p.unknown ??= reason;
      count++;
      this.diverts.recheck(p, out, atMono);
    }
    out.events.push(
      ev('tracking.lost', null, atMono, { lineId: this.config.lineId, reason, parcels: count }),
    );
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
      this.diverts.retime(this.parcels, out, 'jam', nowMono);
    }
    for (const p of this.parcels) {
      if (p.codeState === 'pending' && nowMono >= this.pos.windowEnd(p, this.config.scanner)) {
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
        nowMono >= this.pos.windowEnd(p, this.config.scale)
      ) {
        p.weightState = 'missing';
        out.events.push(ev('parcel.weight-missing', p.id, nowMono, {}));
      }
      if (!p.decided) {
        if (p.targetingVersion !== (this.targeting?.version ?? null))
          this.refreshTargeting(p, out, nowMono);
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
