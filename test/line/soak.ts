/**
 * `npm run soak:line [-- --parcels N] [--stress] [--seed S]`: the line simulation in simulated
 * time (default 1,000,000 parcels, realistic fault rates; --stress: every fault far more often).
 * Prints the report as JSON with line_fault_false_divert_pct; exits 1 if any suspect, targeted or
 * unknown parcel reached the pass lane.
 */
import { parseArgs } from 'node:util';
import { runLineSim } from './line-sim.js';
import { ALL_FAULTS, STRESS_FAULTS, WEIGHTS, fullRulesLine, modelOptions } from './line-presets.js';

const { values } = parseArgs({
  options: {
    parcels: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '2026' },
    stress: { type: 'boolean', default: false },
  },
});
const parcels = Number(values.parcels);
const faults = values.stress ? STRESS_FAULTS : ALL_FAULTS;
process.stderr.write(
  `soak:line: ${parcels} parcels, ${values.stress ? 'stress' : 'realistic'} faults\n`,
);
const r = runLineSim({
  model: modelOptions({ seed: Number(values.seed), parcels, faults, weightKg: WEIGHTS }),
  engine: fullRulesLine(),
  measureLatency: true,
});
const summary = {
  line_fault_false_divert_pct: { value: Number(r.falseDivertPct.toFixed(4)), unit: '%' },
  line_unsafe_pass: { value: r.unsafePass, unit: 'parcels' },
  parcels: r.parcels,
  simulatedHours: Number(r.simulatedHours.toFixed(1)),
  wallS: Number((r.wallMs / 1000).toFixed(1)),
  lanes: r.lanes,
  clean: r.clean,
  cleanFalseDiverts: r.cleanFalseDiverts,
  falseDivertByCause: r.falseDivertByCause,
  parcelsByFault: r.parcelsByFault,
  noReadToPass: r.noReadToPass,
  decisionLatencyMs: r.decisionLatencyMs,
  alarms: Object.fromEntries(Object.entries(r.events).filter(([k]) => k.startsWith('alarm.'))),
  faults,
  unsafeExamples: r.unsafeExamples,
};
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
process.exit(r.unsafePass > 0 || r.noReadToPass > 0 ? 1 : 0);
