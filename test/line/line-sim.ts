import { performance } from 'node:perf_hooks';
import { LineEngine, type TrackingSnapshot } from '../../edge/engine/line-engine.js';
import type {
  EngineConfig,
  EngineEventDraft,
  EngineInput,
  EngineOutput,
  Lane,
  LaneGeometry,
} from '../../edge/engine/types.js';
import { TargetingList } from '../../edge/targeting/targeting-list.js';
import { EventHeap } from '../../drivers/simulated/event-heap.js';
import {
  LineModel,
  type LineModelOptions,
  type ParcelTruth,
} from '../../drivers/simulated/line-model.js';

/**
 * Runs the pure line engine against the line model in simulated time: a manual clock jumps from
 * one event to the next (model input, engine wake, gate fire), so a million parcels take
 * minutes. Physics decides where each real parcel ends up: a gate fire diverts the parcel whose
 * leading edge is within `catchMm` of the diverter when it acts; a parcel no gate catches runs
 * straight on to inspection. A gateway restart drops the engine (and the gate controller's
 * pending commands) and starts a new one from the tracking snapshot.
 */
export interface LineSimOptions {
  model: LineModelOptions;
  engine: EngineConfig;
  /** how far off a parcel may be and still be caught by a diverter, mm */
  catchMm?: number;
  measureLatency?: boolean;
  /** sees every engine event (debugging, tests) */
  onEvent?: (e: EngineEventDraft) => void;
}

export interface LineSimReport {
  parcels: number;
  lanes: Record<Lane, number>;
  /** suspect, targeted or unknown (verdict unknown / not in time) parcels that reached pass */
  unsafePass: number;
  unsafeExamples: ParcelTruth[];
  noReadToPass: number;
  /** clear verdict in time, valid read, not targeted, weight ok: should reach pass */
  clean: number;
  cleanFalseDiverts: number;
  falseDivertPct: number;
  falseDivertByCause: Record<string, number>;
  /** clean parcels diverted with no fault touching them (should stay empty) */
  unexplainedExamples: ParcelTruth[];
  parcelsByFault: Record<string, number>;
  events: Record<string, number>;
  decisionLatencyMs: { p50: number; p99: number; max: number; samples: number } | null;
  engineCalls: number;
  wallMs: number;
  simulatedHours: number;
}

interface Open extends ParcelTruth {
  outcome: { outlet: string; lane: Lane; positionMm: number } | null;
}

export function runLineSim(o: LineSimOptions): LineSimReport {
  const started = performance.now();
  const cfg = o.engine;
  const catchMm = o.catchMm ?? 120;
  const model = new LineModel(o.model, cfg);
  const targeting = new TargetingList(
    'sim-1',
    model.targetedCodes.map((c, i) => ({ id: `t${i}`, match: 'exact' as const, pattern: c })),
  );
  let ids = 0;
  const newId = () => `P${++ids}`;
  let engine = new LineEngine(cfg, newId, 0);
  engine.setTargeting(targeting, 0);

  const gates = new Map<
    string,
    { outlet: string; lane: Lane; positionMm: number; confirmPhotoEyeId?: string }
  >();
  const addGate = (outlet: string, lane: Lane, g: LaneGeometry) => {
    if (g.gateId)
      gates.set(g.gateId, {
        outlet,
        lane,
        positionMm: g.positionMm,
        ...(g.confirmPhotoEyeId ? { confirmPhotoEyeId: g.confirmPhotoEyeId } : {}),
      });
  };
  const confirms = new EventHeap<{ input: EngineInput; parcel: Open | null }>();
  const inspectionEye = cfg.lanes.inspection.confirmPhotoEyeId;
  addGate('exception', 'exception', cfg.lanes.exception);
  addGate('pass', 'pass', cfg.lanes.pass);
  for (const x of cfg.outlets ?? []) addGate(x.id, 'pass', x);
  const endMm = Math.max(
    cfg.lanes.inspection.positionMm,
    ...[...gates.values()].map((g) => g.positionMm),
  );
  const lead = cfg.decision.actuationLeadMs;

  const fires: { gateId: string; parcelId: string; fireAt: number }[] = [];
  const open: Open[] = [];
  let head = 0;
  let now = 0;
  let downUntil: number | null = null;
  let ctDown = false;
  let lineDown = false;
  let snapshot: TrackingSnapshot | null = null;
  const latencies: number[] = [];
  let engineCalls = 0;

  const r: LineSimReport = {
    parcels: 0,
    lanes: { pass: 0, exception: 0, inspection: 0 },
    unsafePass: 0,
    unsafeExamples: [],
    noReadToPass: 0,
    clean: 0,
    cleanFalseDiverts: 0,
    falseDivertPct: 0,
    falseDivertByCause: {},
    unexplainedExamples: [],
    parcelsByFault: {},
    events: {},
    decisionLatencyMs: null,
    engineCalls: 0,
    wallMs: 0,
    simulatedHours: 0,
  };
  const inc = (rec: Record<string, number>, k: string) => (rec[k] = (rec[k] ?? 0) + 1);

  const call = (fn: () => EngineOutput): void => {
    engineCalls++;
    const t0 = o.measureLatency ? performance.now() : 0;
    const out = fn();
    if (o.measureLatency) {
      const dt = performance.now() - t0;
      if (out.events.some((e) => e.type === 'parcel.decided')) latencies.push(dt);
    }
    for (const e of out.events) {
      inc(r.events, e.type);
      o.onEvent?.(e);
    }
    for (const c of out.gateCommands)
      fires.push({ gateId: c.gateId, parcelId: c.parcelId, fireAt: c.fireAtMono });
    for (const c of out.gateCancels) {
      const i = fires.findIndex(
        (f) => f.gateId === c.gateId && f.parcelId === c.parcelId && f.fireAt === c.fireAtMono,
      );
      if (i >= 0) fires.splice(i, 1);
    }
  };

  /** Parcels physically between induction and the end of the line. */
  const inFlight = function* (): Generator<Open> {
    const odo = model.mmAt(now);
    for (let i = head; i < open.length; i++) {
      const p = open[i] as Open;
      if (p.startMm <= odo) yield p;
    }
  };
  const touch = (fault: string) => {
    for (const p of inFlight()) if (!p.faults.includes(fault)) p.faults.push(fault);
  };

  const fire = (f: { gateId: string; fireAt: number }) => {
    const g = gates.get(f.gateId);
    if (!g) return;
    const acts = f.fireAt + lead;
    const at = model.mmAt(acts) - g.positionMm;
    let best: Open | null = null;
    let bestD = catchMm;
    for (let i = head; i < open.length; i++) {
      const p = open[i] as Open;
      if (p.outcome) continue; // already diverted: no longer on the main belt
      const d = Math.abs(p.startMm - at);
      if (d <= bestD) {
        best = p;
        bestD = d;
      }
    }
    if (!best) return;
    best.outcome = { ...g };
    // the lane-entry photo-eye sees it shortly after the diverter
    const eye = g.confirmPhotoEyeId;
    if (eye)
      confirms.push(acts + 100, {
        input: { type: 'laneConfirm', deviceId: eye, atMono: acts + 100, lane: g.lane },
        parcel: null,
      });
  };

  const finalize = (p: Open) => {
    const lane: Lane = p.outcome?.lane ?? 'inspection';
    r.parcels++;
    r.lanes[lane]++;
    for (const f of p.faults) inc(r.parcelsByFault, f);
    const mustInspect = p.verdict !== 'clear' || p.targeted || p.verdictFate !== 'in-time';
    if (mustInspect && lane === 'pass') {
      r.unsafePass++;
      if (r.unsafeExamples.length < 10) r.unsafeExamples.push(p);
    }
    if (p.codeRead !== 'ok' && lane === 'pass') r.noReadToPass++;
    if (!mustInspect && p.codeRead === 'ok' && p.weightOk) {
      r.clean++;
      if (lane !== 'pass') {
        r.cleanFalseDiverts++;
        inc(r.falseDivertByCause, p.faults.length ? [...p.faults].sort().join('+') : 'none');
        if (!p.faults.length && r.unexplainedExamples.length < 10) r.unexplainedExamples.push(p);
      }
    }
  };

  let guard = 0;
  let lastT = -1;
  for (;;) {
    const tGen = model.peekTime();
    const tWake = downUntil === null ? (engine.nextWakeMono() ?? Infinity) : Infinity;
    let tFire = Infinity;
    let fi = -1;
    for (let i = 0; i < fires.length; i++) {
      const f = fires[i];
      if (f && f.fireAt < tFire) {
        tFire = f.fireAt;
        fi = i;
      }
    }
    const tUp = downUntil ?? Infinity;
    const tConf = confirms.peekTime();
    const t = Math.min(tGen, tWake, tFire, tUp, tConf);
    if (t === Infinity) break;
    now = Math.max(now, t);
    if (now === lastT && ++guard > 10_000) throw new Error(`simulation stuck at ${now}`);
    if (now !== lastT) guard = 0;
    lastT = now;

    if (t === tUp) {
      downUntil = null;
      engine = new LineEngine(cfg, newId, now);
      call(() => engine.restore(snapshot, now));
      call(() => engine.setTargeting(targeting, now));
      const s = model.stateAt(now);
      call(() =>
        engine.handle({ type: 'beltSpeed', deviceId: 'drive', atMono: now, mmPerS: s.mmPerS }, now),
      );
      if (s.lineState !== 'running')
        call(() =>
          engine.handle(
            { type: 'lineState', deviceId: 'plc', atMono: now, state: s.lineState },
            now,
          ),
        );
      if (model.ctDownAt(now))
        call(() =>
          engine.handle(
            {
              type: 'deviceStatus',
              deviceId: o.model.devices.ctId,
              atMono: now,
              role: 'ct',
              ok: false,
              reason: 'down at start',
            },
            now,
          ),
        );
    } else if (t === tConf) {
      const c = confirms.pop();
      // the inspection-lane eye sees a parcel only if no diverter took it
      if (c && downUntil === null && !c.v.parcel?.outcome)
        call(() => engine.handle(c.v.input, now));
    } else if (t === tFire) {
      const [f] = fires.splice(fi, 1);
      if (f) fire(f);
    } else if (t === tWake) {
      call(() => engine.advance(now));
    } else {
      const next = model.nextItem();
      if (!next) break;
      const item = next.item;
      if (item.kind === 'parcel') {
        const faults = [...item.truth.faults];
        if (downUntil !== null) faults.push('gateway-restart');
        if (ctDown) faults.push('ct-outage');
        if (lineDown) faults.push('inducted-while-stopped');
        const parcel: Open = { ...item.truth, faults, outcome: null };
        open.push(parcel);
        if (inspectionEye) {
          const at = model.timeAtMm(parcel.startMm + cfg.lanes.inspection.positionMm + 100);
          confirms.push(at, {
            input: { type: 'laneConfirm', deviceId: inspectionEye, atMono: at, lane: 'inspection' },
            parcel,
          });
        }
      } else if (item.kind === 'restart') {
        if (downUntil === null) {
          snapshot = engine.snapshot(now);
          fires.length = 0; // the gate controller drops its commands when the gateway goes away
          touch('gateway-restart');
          downUntil = now + item.downMs;
        }
      } else {
        const input = item.input;
        if (input.type === 'deviceStatus') ctDown = !input.ok;
        if (input.type === 'lineState') lineDown = input.state !== 'running';
      }
      if (item.kind === 'input' && downUntil === null) {
        const input = item.input;
        if (input.type === 'lineState' && input.state !== 'running') touch(input.state);
        if (input.type === 'deviceStatus' && !input.ok) touch('ct-outage');
        call(() => engine.handle(input, now));
      }
    }
    const odo = model.mmAt(now);
    while (head < open.length) {
      const p = open[head] as Open;
      if (odo < p.startMm + endMm + p.lengthMm + catchMm) break;
      finalize(p);
      open[head++] = undefined as unknown as Open;
      if (head > 4096) {
        open.splice(0, head);
        head = 0;
      }
    }
  }
  for (let i = head; i < open.length; i++) finalize(open[i] as Open);

  r.falseDivertPct = r.parcels ? (100 * r.cleanFalseDiverts) / r.parcels : 0;
  if (latencies.length) {
    const s = latencies.sort((a, b) => a - b);
    const pct = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
    r.decisionLatencyMs = {
      p50: pct(0.5),
      p99: pct(0.99),
      max: s.at(-1) ?? NaN,
      samples: s.length,
    };
  }
  r.engineCalls = engineCalls;
  r.wallMs = performance.now() - started;
  r.simulatedHours = now / 3_600_000;
  return r;
}
