/** Inputs and outputs of the pure line engine. Times are monotonic milliseconds. */

export type Lane = 'inspection' | 'exception' | 'pass';
export type CtVerdict = 'clear' | 'suspect' | 'unknown';

export interface PhotoEyeInput {
  type: 'photoEye';
  deviceId: string;
  atMono: number;
  /** leading edge (beam blocked) or trailing edge (beam cleared) */
  edge: 'leading' | 'trailing';
}

export interface BarcodeInput {
  type: 'barcode';
  deviceId: string;
  atMono: number;
  /** null for a no-read */
  code: string | null;
  /** false when the code failed identifier validation: treated as a no-read */
  valid: boolean;
}

export interface CtVerdictInput {
  type: 'ctVerdict';
  deviceId: string;
  /** when the parcel was in the CT tunnel (the verdict itself may arrive seconds later) */
  scannedAtMono: number;
  verdict: CtVerdict;
  scanId: string;
  imageId: string | null;
}

export type EngineInput = PhotoEyeInput | BarcodeInput | CtVerdictInput;

export interface EngineEventDraft {
  type: string;
  parcelId: string | null;
  atMono: number;
  payload: Record<string, unknown>;
}

export interface GateCommand {
  gateId: string;
  parcelId: string;
  lane: Lane;
  /** when the gate output must change, monotonic ms */
  fireAtMono: number;
}

export interface EngineOutput {
  events: EngineEventDraft[];
  gateCommands: GateCommand[];
}

export interface LaneGeometry {
  /** the output that diverts into this lane; absent for the straight-through pass lane */
  gateId?: string;
  /** distance from the induction photo-eye to the diverter, mm */
  positionMm: number;
}

export interface EngineConfig {
  lineId: string;
  beltSpeedMmPerS: number;
  inductionPhotoEyeId: string;
  defaultParcelLengthMm: number;
  scanner: { positionMm: number; toleranceMm: number };
  ct: { positionMm: number; toleranceMm: number };
  decision: { actuationLeadMs: number; marginMs: number };
  lanes: { inspection: LaneGeometry; exception: LaneGeometry; pass: LaneGeometry };
}
