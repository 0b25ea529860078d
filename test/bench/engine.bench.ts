/**
 * Line engine figures, on a pre-generated input stream (the line model, full rule set: targeting
 * list, CT, no-read, weight range, customs outlets; realistic faults), replayed into the pure
 * engine as fast as it goes with a manual clock:
 * - engine_parcels_per_s: parcels through the engine per second of CPU (goal >= 100/s sustained)
 * - engine_decision_p99_ms: p99 duration of the engine call that produced a decision (goal <= 1 ms)
 */
import { performance } from 'node:perf_hooks';
import { LineEngine } from '../../edge/engine/line-engine.js';
import type { EngineInput } from '../../edge/engine/types.js';
import { TargetingList } from '../../edge/targeting/targeting-list.js';
import { LineModel } from '../../drivers/simulated/line-model.js';
import { ALL_FAULTS, WEIGHTS, fullRulesLine, modelOptions } from '../line/line-presets.js';
import { percentile, type Bench } from './figures.js';

const bench: Bench = ({ quick }) => {
  const parcels = quick ? 20_000 : 200_000;
  const config = fullRulesLine();
  const model = new LineModel(
    modelOptions({
      seed: 99,
      parcels,
      faults: { ...ALL_FAULTS, gatewayRestartEveryS: 0 },
      weightKg: WEIGHTS,
    }),
    config,
  );
  const inputs: { t: number; input: EngineInput }[] = [];
  for (let n = model.nextItem(); n; n = model.nextItem())
    if (n.item.kind === 'input') inputs.push({ t: n.t, input: n.item.input });

  // a targeting list of realistic size: 10,000 exact entries and 200 prefixes
  const entries = model.targetedCodes.map((c, i) => ({
    id: `t${i}`,
    match: 'exact' as const,
    pattern: c,
  }));
  for (let i = 0; i < 10_000; i++)
    entries.push({ id: `x${i}`, match: 'exact', pattern: `ZZ${String(i).padStart(9, '0')}CN` });
  const prefixes = Array.from({ length: 200 }, (_, i) => ({
    id: `p${i}`,
    match: 'prefix' as const,
    pattern: `QX${String(i).padStart(4, '0')}`,
  }));
  const list = new TargetingList('bench-1', [...entries, ...prefixes]);

  let ids = 0;
  const engine = new LineEngine(config, () => `P${++ids}`, 0);
  engine.setTargeting(list, 0);
  const latencies: number[] = [];
  let decisions = 0;
  const measure = (fn: () => { events: { type: string }[] }) => {
    const t0 = performance.now();
    const out = fn();
    const dt = performance.now() - t0;
    let d = 0;
    for (const e of out.events) if (e.type === 'parcel.decided') d++;
    if (d > 0) {
      latencies.push(dt);
      decisions += d;
    }
  };
  const started = performance.now();
  for (const { t, input } of inputs) {
    for (let w = engine.nextWakeMono(); w !== null && w <= t; w = engine.nextWakeMono()) {
      const at = w;
      measure(() => engine.advance(at));
    }
    measure(() => engine.handle(input, t));
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const conditions = `${parcels} parcels (${inputs.length} inputs), full rule set, 10,200-entry targeting list, realistic faults, one core, Node ${process.version}`;
  return Promise.resolve({
    engine_parcels_per_s: {
      value: Math.round(ids / seconds),
      unit: 'parcels/s',
      note: `goal >= 100/s sustained; ${conditions}`,
    },
    engine_decision_p99_ms: {
      value: Number(percentile(latencies, 0.99).toFixed(4)),
      unit: 'ms',
      note: `goal <= 1 ms; p99 of the engine call producing a decision (${decisions} decisions, max ${(latencies.at(-1) ?? 0).toFixed(2)} ms); ${conditions}`,
    },
  });
};

export default bench;
