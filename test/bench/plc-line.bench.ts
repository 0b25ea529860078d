/**
 * The real-line figures (issue 11): the OPC UA simulator process plays a vendor-shaped CT (review
 * results by waybill, no scan time, 1.5 s after the tunnel) and sorter PLC (integer destinations,
 * its own tracking ids, default destination PASS); a whole gateway runs
 * config/examples/opcua-line.yaml against it (test/support/sorter-line-rig.ts). A realistic mix:
 * 80 % clear, then suspect, unknown, unread, misread, late and missing verdicts.
 * - plc_line_escapes: parcels that were not clear yet ended in the PLC's pass destination (must be 0)
 * - plc_line_false_divert_pct: clear parcels not sorted to pass, % of clear parcels (goal <= 1 %)
 * - plc_handoff_ack_p99_ms: engine issues a hand-off -> the PLC's acknowledgement arrives
 * each at 0.5 m/s, and with the suffix _2mps at 2 m/s. 120 + 240 parcels (40 + 80 with --quick).
 */
import type { ParcelKind } from '../../drivers/opcua/sim/line-flow.js';
import { seededRandom } from '../../drivers/simulated/random.js';
import { DESTINATION, SorterLineRig, type RunResult } from '../support/sorter-line-rig.js';
import { percentile, type Bench, type Figures } from './figures.js';

const MIX: [ParcelKind, number][] = [
  ['suspect', 0.05],
  ['unknown', 0.03],
  ['unread', 0.04],
  ['invalid', 0.02],
  ['late', 0.03],
  ['missing', 0.03],
];

function kinds(n: number, seed: number): ParcelKind[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    let x = r();
    for (const [kind, p] of MIX) {
      if (x < p) return kind;
      x -= p;
    }
    return 'clear';
  });
}

function figures(r: RunResult, suffix: string, note: string): Figures {
  const clear = r.sorted.filter((p) => p.kind === 'clear');
  const escapes = r.sorted.filter((p) => p.kind !== 'clear' && p.destination === DESTINATION.pass);
  const falseDiverts = clear.filter((p) => p.destination !== DESTINATION.pass);
  const byDefault = r.sorted.filter((p) => p.assigned === null).length;
  const acks = [...r.ackMs].sort((a, b) => a - b);
  const alarms = r.events.filter((e) => e.type.startsWith('alarm.plc-handoff')).length;
  const detail = `${r.sorted.length} parcels (${clear.length} clear), ${byDefault} sorted by the PLC default, ${alarms} hand-off alarms; ${note}`;
  return {
    [`plc_line_escapes${suffix}`]: {
      value: escapes.length,
      unit: 'parcels',
      note: `not clear, sorted to pass; must be 0; ${detail}`,
    },
    [`plc_line_false_divert_pct${suffix}`]: {
      value: Number(((falseDiverts.length / Math.max(1, clear.length)) * 100).toFixed(2)),
      unit: '%',
      note: `clear parcels not passed (${falseDiverts.length}); goal <= 1 %; ${detail}`,
    },
    [`plc_handoff_ack_p99_ms${suffix}`]: {
      value: Number(percentile(acks, 0.99).toFixed(1)),
      unit: 'ms',
      note: `engine issue -> PLC acknowledgement (method output), ${acks.length} hand-offs, p50 ${percentile(acks, 0.5).toFixed(1)} ms, max ${(acks.at(-1) ?? NaN).toFixed(1)} ms`,
    },
  };
}

const bench: Bench = async ({ quick }) => {
  const rig = await SorterLineRig.start({
    reviewDelayMs: 1500,
    defaultDestination: DESTINATION.pass,
  });
  try {
    const slow = await rig.run(kinds(quick ? 40 : 120, 2026), 500, 1600);
    const fast = await rig.run(kinds(quick ? 80 : 240, 2027), 2000, 450);
    return {
      ...figures(slow, '', '0.5 m/s, parcels 800 mm apart, CT review 1.5 s after the tunnel'),
      ...figures(fast, '_2mps', '2 m/s, parcels 900 mm apart, CT review 1.5 s after the tunnel'),
    };
  } finally {
    await rig.stop();
  }
};

export default bench;
