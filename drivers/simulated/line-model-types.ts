import type { CtVerdict, EngineInput } from '../../edge/engine/types.js';

/** The simulated line's settings, the ground truth it keeps per parcel, and what it produces. */

export interface LineModelOptions {
  seed: number;
  /** stop after this many parcels */
  parcels: number;
  /** mean distance from one leading edge to the next, mm (gap jittered by `gapJitter`) */
  pitchMm: number;
  gapJitter: number;
  parcelLengthMm: { min: number; max: number };
  noReadRate: number;
  invalidIdRate: number;
  suspectRate: number;
  unknownRate: number;
  /** share of parcels whose waybill is on the targeting list */
  targetedRate: number;
  verdictDelayMs: { min: number; max: number };
  weightKg?: { min: number; max: number; outOfRangeRate: number; missingRate: number };
  faults: {
    lateVerdictRate: number;
    missingVerdictRate: number;
    doubleReadRate: number;
    lostPulseRate: number;
    /** mean seconds between events (0 = never) */
    speedChangeEveryS: number;
    speedJitter: number;
    stopEveryS: number;
    stopMs: { min: number; max: number };
    estopEveryS: number;
    estopMs: { min: number; max: number };
    ctLinkLossEveryS: number;
    ctLinkLossMs: { min: number; max: number };
    gatewayRestartEveryS: number;
    gatewayRestartMs: { min: number; max: number };
  };
  devices: { scannerId: string; ctId: string; scaleId: string; plcId: string; driveId: string };
  /** emit encoder counts (encoder tracking) every `periodMs` */
  encoder?: { deviceId: string; mmPerCount: number; periodMs: number };
}

export const NO_FAULTS: LineModelOptions['faults'] = {
  lateVerdictRate: 0,
  missingVerdictRate: 0,
  doubleReadRate: 0,
  lostPulseRate: 0,
  speedChangeEveryS: 0,
  speedJitter: 0,
  stopEveryS: 0,
  stopMs: { min: 0, max: 0 },
  estopEveryS: 0,
  estopMs: { min: 0, max: 0 },
  ctLinkLossEveryS: 0,
  ctLinkLossMs: { min: 0, max: 0 },
  gatewayRestartEveryS: 0,
  gatewayRestartMs: { min: 0, max: 0 },
};

export interface ParcelTruth {
  index: number;
  /** belt odometer at the leading edge's induction */
  startMm: number;
  inductedAtMono: number;
  lengthMm: number;
  code: string;
  codeRead: 'ok' | 'noread' | 'invalid';
  targeted: boolean;
  verdict: CtVerdict;
  verdictFate: 'in-time' | 'late' | 'missing' | 'lost-in-ct-outage';
  weightKg: number | null;
  weightOk: boolean;
  /** faults that touched this parcel (own faults; the harness adds line-level ones) */
  faults: string[];
}

export type LineItem =
  | { kind: 'input'; input: EngineInput }
  | { kind: 'restart'; downMs: number }
  | { kind: 'parcel'; truth: ParcelTruth };
