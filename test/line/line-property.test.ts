import { describe, expect, it } from 'vitest';
import { NO_FAULTS } from '../../drivers/simulated/line-model.js';
import { runLineSim } from './line-sim.js';
import { STRESS_FAULTS, WEIGHTS, fullRulesLine, modelOptions } from './line-presets.js';

/**
 * The fail-safe as a property over a simulated line in simulated time, with every fault
 * injected: late and missing verdicts, double reads, lost photo-eye pulses, live speed changes,
 * controlled stops, E-stops, CT link losses and gateway restarts mid-line. Physics (not the
 * engine's own records) decides where each parcel ends up.
 */
const FAULTS = [
  'verdict-late',
  'verdict-missing',
  'verdict-lost-in-ct-outage',
  'double-read',
  'lost-leading-pulse',
  'lost-trailing-pulse',
  'stopped',
  'estop',
  'ct-outage',
  'gateway-restart',
];

describe('line simulation property (simulated time)', () => {
  it('without faults every parcel is diverted where it was decided, and the lane eyes confirm it', () => {
    const r = runLineSim({
      model: modelOptions({ seed: 11, parcels: 10_000, faults: NO_FAULTS, weightKg: WEIGHTS }),
      engine: fullRulesLine(),
    });
    expect(r.cleanFalseDiverts).toBe(0);
    expect(r.unsafePass).toBe(0);
    expect(r.events['divert.confirmed']).toBe(10_000);
    const alarms = Object.keys(r.events).filter((k) => k.startsWith('alarm.'));
    expect(alarms).toEqual([]);
  });

  it('50,000 parcels, time tracking, full rule set, every fault: nothing unsafe reaches pass', () => {
    const r = runLineSim({
      model: modelOptions({
        seed: 4242,
        parcels: 50_000,
        faults: STRESS_FAULTS,
        weightKg: WEIGHTS,
      }),
      engine: fullRulesLine(),
    });
    expect(r.parcels).toBe(50_000);
    for (const f of FAULTS) expect(r.parcelsByFault[f] ?? 0, f).toBeGreaterThan(0);
    expect(r.events['alarm.estop']).toBeGreaterThan(0);
    expect(r.events['tracking.restored']).toBeGreaterThan(0);
    // physics and the engine agree: a misrouted parcel would raise alarm.missort
    expect(r.events['alarm.missort'] ?? 0).toBe(0);
    expect(r.events['divert.confirmed']).toBeGreaterThan(45_000);
    expect(r.unsafePass, JSON.stringify(r.unsafeExamples.slice(0, 2))).toBe(0);
    expect(r.noReadToPass).toBe(0);
    // every false divert of a clean parcel is explained by a fault
    expect(r.falseDivertByCause.none ?? 0).toBe(0);
    // the line still works: most clean parcels reach pass
    expect(r.cleanFalseDiverts / r.clean).toBeLessThan(0.05);
    expect(r.lanes.pass).toBeGreaterThan(40_000);
    console.log(
      `line property: ${r.parcels} parcels, ${r.simulatedHours.toFixed(1)} h simulated in ${(r.wallMs / 1000).toFixed(1)} s; ` +
        `unsafe ${r.unsafePass}; false diverts ${r.cleanFalseDiverts} (${r.falseDivertPct.toFixed(3)}%)`,
    );
  });

  it('10,000 parcels with encoder tracking and every fault: nothing unsafe reaches pass', () => {
    const r = runLineSim({
      model: modelOptions({
        seed: 7,
        parcels: 10_000,
        faults: {
          ...STRESS_FAULTS,
          estopEveryS: 1800,
          ctLinkLossEveryS: 1800,
          gatewayRestartEveryS: 1800,
        },
        encoder: { deviceId: 'enc-1', mmPerCount: 2, periodMs: 20 },
      }),
      engine: fullRulesLine({
        scale: undefined,
        rules: { ...fullRulesLine().rules!, weight: undefined },
        tracking: { mode: 'encoder', encoderId: 'enc-1', mmPerCount: 2, encoderStaleMs: 500 },
      }),
    });
    expect(r.parcels).toBe(10_000);
    expect(r.unsafePass).toBe(0);
    expect(r.noReadToPass).toBe(0);
    expect(r.falseDivertByCause.none ?? 0).toBe(0);
    expect(r.lanes.pass).toBeGreaterThan(8000);
  });
});
