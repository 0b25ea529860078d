/**
 * Line simulation figures: the pure engine against the simulated line in simulated time, every
 * fault injected at realistic rates (see test/line/line-presets.ts ALL_FAULTS), physics
 * deciding where each parcel ends up. 1,000,000 parcels (100,000 with --quick).
 * - line_fault_false_divert_pct: clean parcels (clear in time, valid read, not targeted, weight
 *   ok) that did not reach pass because of a fault, % of all parcels (goal <= 0.1 %)
 * - line_unsafe_pass: suspect, targeted or unknown parcels that reached pass (must be 0)
 */
import { runLineSim } from '../line/line-sim.js';
import { ALL_FAULTS, WEIGHTS, fullRulesLine, modelOptions } from '../line/line-presets.js';
import type { Bench } from './figures.js';

const bench: Bench = ({ quick }) => {
  const parcels = quick ? 100_000 : 1_000_000;
  const r = runLineSim({
    model: modelOptions({ seed: 2026, parcels, faults: ALL_FAULTS, weightKg: WEIGHTS }),
    engine: fullRulesLine(),
  });
  if (r.unsafePass > 0) throw new Error(`unsafe: ${JSON.stringify(r.unsafeExamples[0])}`);
  const causes = Object.entries(r.falseDivertByCause)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const note = `${r.parcels} parcels, ${r.simulatedHours.toFixed(0)} h of line time simulated in ${(r.wallMs / 1000).toFixed(0)} s`;
  return Promise.resolve({
    line_fault_false_divert_pct: {
      value: Number(r.falseDivertPct.toFixed(4)),
      unit: '%',
      note: `goal <= 0.1 %; ${r.cleanFalseDiverts} clean parcels diverted (${causes}); ${note}`,
    },
    line_unsafe_pass: {
      value: r.unsafePass,
      unit: 'parcels',
      note: `suspect / targeted / unknown parcels that reached pass, must be 0; ${note}`,
    },
  });
};

export default bench;
