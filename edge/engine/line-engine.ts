import type {
  BarcodeInput,
  CtVerdict,
  CtVerdictInput,
  EngineConfig,
  EngineEventDraft,
  EngineInput,
  EngineOutput,
  GateCommand,
  Lane,
  PhotoEyeInput,
} from './types.js';

/**
 * The line engine: pure. Inputs (device events) and the current monotonic time go in; event
 * drafts and gate commands come out. No I/O, no timers: the caller asks `nextWakeMono()` and
 * calls `advance(now)` then. Tracking is time-based here (position = elapsed time x belt speed).
 *
 * Fail-safe: only a parcel with a CT verdict `clear` and a valid identity can go to pass; every
 * other outcome (suspect, unknown, verdict late, no-read) goes to inspection or exception.
 */

interface TrackedParcel {
  id: string;
  inductedAtMono: number;
  lengthMm: number | null;
  code: string | null;
  codeState: 'pending' | 'read' | 'noread' | 'invalid' | 'conflict';
  verdict: CtVerdict | null;
  scanId: string | null;
  imageId: string | null;
  decided: { lane: Lane; ruleId: string } | null;
}

export interface DecisionRule {
  id: string;
  lane: Lane;
  reason: string;
}

/** The ordered rules of the walking skeleton. The first that applies decides. */
export const SKELETON_RULES = {
  ctSuspect: { id: 'ct-suspect', lane: 'inspection', reason: 'CT verdict suspect' },
  ctUnknown: { id: 'ct-unknown', lane: 'inspection', reason: 'CT verdict unknown' },
  ctTimeout: {
    id: 'ct-verdict-timeout',
    lane: 'inspection',
    reason: 'CT verdict not in by the decision deadline',
  },
  noRead: { id: 'no-read', lane: 'exception', reason: 'no valid barcode read' },
  clear: { id: 'clear', lane: 'pass', reason: 'CT clear and identified' },
} as const satisfies Record<string, DecisionRule>;

export class LineEngine {
  private readonly parcels: TrackedParcel[] = [];
  private readonly speedMmPerMs: number;
  private readonly firstGateMm: number;
  private readonly lastPositionMm: number;

  constructor(
    private readonly config: EngineConfig,
    private readonly newParcelId: () => string,
  ) {
    this.speedMmPerMs = config.beltSpeedMmPerS / 1000;
    const lanes = Object.values(config.lanes);
    this.firstGateMm = Math.min(...lanes.filter((l) => l.gateId).map((l) => l.positionMm));
    this.lastPositionMm = Math.max(...lanes.map((l) => l.positionMm));
  }

  /** Parcels currently tracked (for the status page and health). */
  trackedCount(): number {
    return this.parcels.length;
  }

  /** The decision deadline of a parcel inducted at `inductedAtMono`. */
  deadlineMono(inductedAtMono: number): number {
    const { actuationLeadMs, marginMs } = this.config.decision;
    return inductedAtMono + this.firstGateMm / this.speedMmPerMs - actuationLeadMs - marginMs;
  }

  handle(input: EngineInput, nowMono: number): EngineOutput {
    const out: EngineOutput = { events: [], gateCommands: [] };
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
    }
    this.runTimers(nowMono, out);
    return out;
  }

  /** Apply every time-driven transition due at `nowMono`. */
  advance(nowMono: number): EngineOutput {
    const out: EngineOutput = { events: [], gateCommands: [] };
    this.runTimers(nowMono, out);
    return out;
  }

  /** The next time `advance` has something to do, or null when nothing is tracked. */
  nextWakeMono(): number | null {
    let next: number | null = null;
    for (const p of this.parcels) {
      const candidates = [this.exitMono(p)];
      if (p.codeState === 'pending') candidates.push(this.scannerWindowEndMono(p));
      if (!p.decided) candidates.push(this.deadlineMono(p.inductedAtMono));
      for (const c of candidates) if (next === null || c < next) next = c;
    }
    return next;
  }

  private positionAt(p: TrackedParcel, atMono: number): number {
    return (atMono - p.inductedAtMono) * this.speedMmPerMs;
  }

  private lengthOf(p: TrackedParcel): number {
    return p.lengthMm ?? this.config.defaultParcelLengthMm;
  }

  private scannerWindowEndMono(p: TrackedParcel): number {
    const { positionMm, toleranceMm } = this.config.scanner;
    return p.inductedAtMono + (positionMm + this.lengthOf(p) + toleranceMm) / this.speedMmPerMs;
  }

  private exitMono(p: TrackedParcel): number {
    return p.inductedAtMono + (this.lastPositionMm + this.lengthOf(p)) / this.speedMmPerMs;
  }

  /** The parcel whose body covers `positionMm` (within tolerance) at `atMono`, nearest centre first. */
  private match(positionMm: number, toleranceMm: number, atMono: number): TrackedParcel | null {
    let best: TrackedParcel | null = null;
    let bestDistance = Infinity;
    for (const p of this.parcels) {
      if (p.inductedAtMono > atMono) continue;
      const lead = this.positionAt(p, atMono);
      const len = this.lengthOf(p);
      // the device sees the parcel while lead is in [device, device + length]
      if (lead < positionMm - toleranceMm || lead > positionMm + len + toleranceMm) continue;
      const distance = Math.abs(lead - len / 2 - positionMm);
      if (distance < bestDistance) {
        best = p;
        bestDistance = distance;
      }
    }
    return best;
  }

  private onPhotoEye(input: PhotoEyeInput, out: EngineOutput): void {
    if (input.deviceId !== this.config.inductionPhotoEyeId) {
      out.events.push(ev('photoeye.ignored', null, input.atMono, { deviceId: input.deviceId }));
      return;
    }
    if (input.edge === 'leading') {
      const parcel: TrackedParcel = {
        id: this.newParcelId(),
        inductedAtMono: input.atMono,
        lengthMm: null,
        code: null,
        codeState: 'pending',
        verdict: null,
        scanId: null,
        imageId: null,
        decided: null,
      };
      this.parcels.push(parcel);
      out.events.push(
        ev('parcel.inducted', parcel.id, input.atMono, {
          lineId: this.config.lineId,
          photoEyeId: input.deviceId,
          deadlineMono: this.deadlineMono(input.atMono),
        }),
      );
      return;
    }
    const last = this.parcels.at(-1);
    if (last && last.lengthMm === null) {
      last.lengthMm = Math.round(this.positionAt(last, input.atMono));
    }
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
    if (p.codeState === 'read') {
      const same = p.code === input.code;
      if (!same) p.codeState = 'conflict';
      out.events.push(
        ev(same ? 'read.duplicate' : 'read.conflict', p.id, input.atMono, {
          deviceId: input.deviceId,
          code: input.code,
          firstCode: p.code,
        }),
      );
      return;
    }
    if (p.codeState !== 'pending') return;
    p.code = input.code;
    p.codeState = 'read';
    out.events.push(
      ev('parcel.identified', p.id, input.atMono, { deviceId: input.deviceId, code: input.code }),
    );
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
      out.events.push(ev('ct.duplicate', p.id, input.scannedAtMono, payload));
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

  private runTimers(nowMono: number, out: EngineOutput): void {
    for (const p of this.parcels) {
      if (p.codeState === 'pending' && nowMono >= this.scannerWindowEndMono(p)) {
        p.codeState = 'noread';
        out.events.push(
          ev('parcel.noread', p.id, this.scannerWindowEndMono(p), {
            deviceId: null,
            code: null,
            reason: 'no-read-in-window',
          }),
        );
      }
      if (!p.decided) {
        const deadline = this.deadlineMono(p.inductedAtMono);
        const rule = this.evaluate(p, nowMono >= deadline);
        if (rule) this.decide(p, rule, nowMono, out);
      }
    }
    // forget parcels that have passed the last diverter
    for (let i = this.parcels.length - 1; i >= 0; i--) {
      const p = this.parcels[i];
      if (p && p.decided && nowMono >= this.exitMono(p)) this.parcels.splice(i, 1);
    }
  }

  /** The first rule that applies, or null while the outcome could still change. */
  private evaluate(p: TrackedParcel, deadlinePassed: boolean): DecisionRule | null {
    if (p.verdict === 'suspect') return SKELETON_RULES.ctSuspect;
    if (p.verdict === 'unknown') return SKELETON_RULES.ctUnknown;
    if (p.verdict === null) return deadlinePassed ? SKELETON_RULES.ctTimeout : null;
    // verdict is clear from here on
    if (p.codeState === 'pending') {
      // a clear verdict cannot be used before the identity is known; at the deadline the
      // parcel has no identity: exception
      return deadlinePassed ? SKELETON_RULES.noRead : null;
    }
    if (p.codeState !== 'read') return SKELETON_RULES.noRead;
    return SKELETON_RULES.clear;
  }

  private decide(p: TrackedParcel, rule: DecisionRule, nowMono: number, out: EngineOutput): void {
    p.decided = { lane: rule.lane, ruleId: rule.id };
    const lane = this.config.lanes[rule.lane];
    const fireAtMono =
      p.inductedAtMono + lane.positionMm / this.speedMmPerMs - this.config.decision.actuationLeadMs;
    const command: GateCommand | null = lane.gateId
      ? { gateId: lane.gateId, parcelId: p.id, lane: rule.lane, fireAtMono }
      : null;
    if (command) out.gateCommands.push(command);
    out.events.push(
      ev('parcel.decided', p.id, nowMono, {
        lineId: this.config.lineId,
        lane: rule.lane,
        ruleId: rule.id,
        reason: rule.reason,
        code: p.code,
        codeState: p.codeState,
        verdict: p.verdict,
        scanId: p.scanId,
        imageId: p.imageId,
        lengthMm: p.lengthMm,
        gateId: command?.gateId ?? null,
        fireAtMono: command?.fireAtMono ?? null,
        slackMs: Math.round(this.deadlineMono(p.inductedAtMono) - nowMono),
      }),
    );
  }
}

function ev(
  type: string,
  parcelId: string | null,
  atMono: number,
  payload: Record<string, unknown>,
): EngineEventDraft {
  return { type, parcelId, atMono, payload };
}
