/**
 * What a CT review time costs: the share of CLEAR parcels that go to inspection because their
 * verdict (by waybill, after review) arrives after the decision deadline. The pure engine in
 * simulated time on the geometry of config/examples/opcua-line.yaml (CT at 2 m, the sorter's
 * decision point at 8 m, 400 mm parcels, actuation lead 50 ms + margin 300 ms), 2,000 clear
 * parcels per cell, verdicts delivered 50 ms after the review ends. The deadline stays the safety
 * net: a late verdict only ever costs an inspection. Printed as a table (docs/real-line.md):
 * - review_cost_pct_<model>_<speed>: % of clear parcels sent to inspection
 * Models: a fixed review time, and airport practice (80 % machine verdicts within 1 s, 20 %
 * reviewed by an officer, exponential with a 20 s mean).
 */
import { between, seededRandom } from '../../drivers/simulated/random.js';
import { LineEngine } from '../../edge/engine/line-engine.js';
import type { EngineConfig, EngineInput } from '../../edge/engine/types.js';
import { makeS10 } from '../../edge/identifiers/s10.js';
import type { Bench, Figures } from './figures.js';

const CT_MM = 2000;
const DECISION_MM = 8000;
const PARCEL_MM = 400;

function config(speed: number): EngineConfig {
  const plc = (destination: number) => ({
    gateId: 'sorter-dp1',
    positionMm: DECISION_MM,
    gateMode: 'plc' as const,
    plc: { plcId: 'sorter', destination },
  });
  return {
    lineId: 'bench',
    beltSpeedMmPerS: speed,
    inductionPhotoEyeId: 'pe',
    defaultParcelLengthMm: PARCEL_MM,
    scanner: { positionMm: 800, toleranceMm: 150 },
    ct: { positionMm: CT_MM, toleranceMm: 200 },
    decision: { actuationLeadMs: 50, marginMs: 300 },
    lanes: { inspection: plc(1), exception: plc(2), pass: plc(3) },
  };
}

type Model = { name: string; label: string; delay: (r: () => number) => number };
const MODELS: Model[] = [
  { name: 'fixed1s5', label: 'fixed 1.5 s', delay: () => 1500 },
  { name: 'fixed5s', label: 'fixed 5 s', delay: () => 5000 },
  { name: 'fixed10s', label: 'fixed 10 s', delay: () => 10_000 },
  { name: 'fixed20s', label: 'fixed 20 s', delay: () => 20_000 },
  {
    name: 'airport',
    label: '80 % machine <= 1 s, 20 % officer (mean 20 s)',
    delay: (r) => (r() < 0.8 ? between(r, 200, 1000) : -Math.log(1 - r()) * 20_000),
  },
];
const SPEEDS = [500, 1000, 2000];

/** % of clear parcels that did not pass. */
function cost(speed: number, model: Model, parcels: number): number {
  const r = seededRandom(speed + model.name.length * 7919);
  let n = 0;
  const engine = new LineEngine(config(speed), () => `P${++n}`);
  const v = speed / 1000;
  const gapMs = 900 / v;
  const inputs: { at: number; input: EngineInput }[] = [];
  for (let i = 0; i < parcels; i++) {
    const t0 = i * gapMs;
    const waybill = makeS10('RR', String(10_000_000 + i), 'CN');
    inputs.push({
      at: t0,
      input: { type: 'photoEye', deviceId: 'pe', atMono: t0, edge: 'leading' },
    });
    inputs.push({
      at: t0 + PARCEL_MM / v,
      input: { type: 'photoEye', deviceId: 'pe', atMono: t0 + PARCEL_MM / v, edge: 'trailing' },
    });
    const readAt = t0 + 1000 / v;
    inputs.push({
      at: readAt,
      input: { type: 'barcode', deviceId: 'scanner', atMono: readAt, code: waybill, valid: true },
    });
    const verdictAt = t0 + (CT_MM + PARCEL_MM) / v + model.delay(r) + 50;
    inputs.push({
      at: verdictAt,
      input: {
        type: 'ctVerdict',
        deviceId: 'ct',
        scannedAtMono: null,
        verdict: 'clear',
        scanId: `CT-${i}`,
        imageId: null,
        ids: { waybill },
      },
    });
  }
  inputs.sort((a, b) => a.at - b.at);
  const lanes = new Map<string, string>();
  const take = (out: ReturnType<LineEngine['advance']>) => {
    for (const e of out.events)
      if (e.type === 'parcel.decided' && e.parcelId) lanes.set(e.parcelId, String(e.payload.lane));
  };
  const runTo = (t: number) => {
    for (let next = engine.nextWakeMono(); next !== null && next <= t;) {
      take(engine.advance(next));
      const after = engine.nextWakeMono();
      if (after === next) break;
      next = after;
    }
  };
  for (const { at, input } of inputs) {
    runTo(at);
    take(engine.handle(input, at));
  }
  runTo(parcels * gapMs + 120_000);
  const notPassed = [...lanes.values()].filter((l) => l !== 'pass').length;
  return (notPassed / parcels) * 100;
}

const bench: Bench = ({ quick }) => {
  const parcels = quick ? 500 : 2000;
  const figures: Figures = {};
  const rows: string[] = [];
  for (const model of MODELS) {
    const cells = SPEEDS.map((speed) => {
      const pct = cost(speed, model, parcels);
      figures[`review_cost_pct_${model.name}_${speed / 1000}mps`.replace('.', '')] = {
        value: Number(pct.toFixed(2)),
        unit: '%',
        note: `clear parcels sent to inspection: review ${model.label}, ${speed / 1000} m/s, CT at ${CT_MM} mm, decision point ${DECISION_MM} mm, ${parcels} parcels`,
      };
      return `${pct.toFixed(1)} %`;
    });
    rows.push(`| ${model.label} | ${cells.join(' | ')} |`);
  }
  const slack = SPEEDS.map(
    (s) => `${(((DECISION_MM - CT_MM - PARCEL_MM) / s) * 1000 - 350 - 50).toFixed(0)} ms`,
  );
  process.stderr.write(
    [
      `| review time | ${SPEEDS.map((s) => `${s / 1000} m/s`).join(' | ')} |`,
      `| --- | ${SPEEDS.map(() => '---').join(' | ')} |`,
      `| (time from tunnel exit to deadline) | ${slack.join(' | ')} |`,
      ...rows,
      '',
    ].join('\n'),
  );
  return Promise.resolve(figures);
};

export default bench;
