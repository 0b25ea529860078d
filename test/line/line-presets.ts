import { DEFAULT_RULE_ORDER, type EngineConfig } from '../../edge/engine/types.js';
import { NO_FAULTS, type LineModelOptions } from '../../drivers/simulated/line-model.js';

/**
 * Ready-made simulation settings: the example line's geometry and realistic rates (CT line,
 * 1 m/s, ~2,400 parcels/h), and a fault mix with every fault injected at rates an operator
 * would call a bad day, not a disaster.
 */
export function exampleLine(over: Partial<EngineConfig> = {}): EngineConfig {
  return {
    lineId: 'line-1',
    beltSpeedMmPerS: 1000,
    inductionPhotoEyeId: 'pe-infeed',
    defaultParcelLengthMm: 400,
    scanner: { positionMm: 800, toleranceMm: 150, deviceId: 'scanner-1' },
    ct: { positionMm: 2000, toleranceMm: 200, deviceId: 'ct-1' },
    decision: { actuationLeadMs: 50, marginMs: 300 },
    lanes: {
      exception: { gateId: 'gate-exception', positionMm: 7000 },
      pass: { gateId: 'gate-pass', positionMm: 8000 },
      inspection: { positionMm: 9000 },
    },
    jamTimeoutMs: 3000,
    gateCommandLeadMs: 1000,
    ...over,
  };
}

export function modelOptions(over: Partial<LineModelOptions> = {}): LineModelOptions {
  return {
    seed: 1,
    parcels: 10_000,
    pitchMm: 1500,
    gapJitter: 0.2,
    parcelLengthMm: { min: 200, max: 600 },
    noReadRate: 0.02,
    invalidIdRate: 0.005,
    suspectRate: 0.03,
    unknownRate: 0.01,
    targetedRate: 0.005,
    verdictDelayMs: { min: 300, max: 3500 },
    faults: NO_FAULTS,
    devices: {
      scannerId: 'scanner-1',
      ctId: 'ct-1',
      scaleId: 'scale-1',
      plcId: 'plc-1',
      driveId: 'drive-1',
    },
    ...over,
  };
}

/** Every fault, at rates per parcel or mean intervals in seconds of line time. */
export const ALL_FAULTS: LineModelOptions['faults'] = {
  lateVerdictRate: 0.0003,
  missingVerdictRate: 0.0001,
  doubleReadRate: 0.01,
  lostPulseRate: 0.001,
  speedChangeEveryS: 600,
  speedJitter: 0.15,
  stopEveryS: 1800,
  stopMs: { min: 2000, max: 60_000 },
  estopEveryS: 8 * 3600,
  estopMs: { min: 10_000, max: 120_000 },
  ctLinkLossEveryS: 8 * 3600,
  ctLinkLossMs: { min: 1000, max: 20_000 },
  gatewayRestartEveryS: 24 * 3600,
  gatewayRestartMs: { min: 3000, max: 15_000 },
};

/** Every fault, frequent enough that each one happens many times in 50,000 parcels (CI). */
export const STRESS_FAULTS: LineModelOptions['faults'] = {
  lateVerdictRate: 0.01,
  missingVerdictRate: 0.005,
  doubleReadRate: 0.02,
  lostPulseRate: 0.005,
  speedChangeEveryS: 120,
  speedJitter: 0.15,
  stopEveryS: 900,
  stopMs: { min: 2000, max: 60_000 },
  estopEveryS: 2 * 3600,
  estopMs: { min: 10_000, max: 120_000 },
  ctLinkLossEveryS: 2 * 3600,
  ctLinkLossMs: { min: 1000, max: 20_000 },
  gatewayRestartEveryS: 3 * 3600,
  gatewayRestartMs: { min: 3000, max: 15_000 },
};

/** The example line with the full rule set: scale + weight range, customs outlets, targeting. */
export function fullRulesLine(over: Partial<EngineConfig> = {}): EngineConfig {
  return exampleLine({
    scale: { positionMm: 1300, toleranceMm: 150, deviceId: 'scale-1' },
    // every lane has a lane-entry photo-eye confirming the divert
    lanes: {
      exception: { gateId: 'gate-exception', positionMm: 7000, confirmPhotoEyeId: 'pe-exc' },
      pass: { gateId: 'gate-pass', positionMm: 8000, confirmPhotoEyeId: 'pe-pass' },
      inspection: { positionMm: 9000, confirmPhotoEyeId: 'pe-insp' },
    },
    outlets: [
      { id: 'pass-9610', gateId: 'gate-9610', positionMm: 7500, confirmPhotoEyeId: 'pe-9610' },
    ],
    rules: {
      order: [...DEFAULT_RULE_ORDER],
      noReadLane: 'exception',
      weight: { minKg: 0.05, maxKg: 30, lane: 'exception' },
      customsModes: [
        { mode: '9610', pattern: '^RD\\d{4}[0-4]', outlet: 'pass-9610' },
        { mode: '9710', pattern: '^RD' },
      ],
    },
    ...over,
  });
}

export const WEIGHTS = { min: 0.1, max: 30, outOfRangeRate: 0.002, missingRate: 0.002 };
