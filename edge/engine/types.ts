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
  /** symbology when the scanner reports it (Code128, QR, ...) */
  symbology?: string;
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

/** A scale / checkweigher reading (MT-SICS, Toledo continuous, OPC 40200). */
export interface WeightInput {
  type: 'weight';
  deviceId: string;
  atMono: number;
  /** null when the scale reports no usable weight (error, overload, underload) */
  kg: number | null;
  status: 'stable' | 'dynamic' | 'overload' | 'underload' | 'error';
}

/** A device's link or life bit: lost -> the engine goes fail-safe for what depends on it. */
export interface DeviceStatusInput {
  type: 'deviceStatus';
  deviceId: string;
  atMono: number;
  role: 'scanner' | 'ct' | 'scale' | 'plc' | 'photoEye' | 'gate' | 'other';
  ok: boolean;
  reason: string;
}

/** Live belt speed (time-based tracking) from a PLC or drive. */
export interface BeltSpeedInput {
  type: 'beltSpeed';
  deviceId: string;
  atMono: number;
  mmPerS: number;
}

/** Encoder count (encoder-based tracking), from a GPIO encoder input or a PLC position. */
export interface EncoderInput {
  type: 'encoder';
  deviceId: string;
  atMono: number;
  count: number;
}

/** Line state changes: E-stop, jam, stop, restart. */
export interface LineStateInput {
  type: 'lineState';
  deviceId: string;
  atMono: number;
  state: 'running' | 'stopped' | 'estop' | 'jam';
  reason?: string;
}

/** A lane-entry photo-eye confirming a divert. */
export interface LaneConfirmInput {
  type: 'laneConfirm';
  deviceId: string;
  atMono: number;
  lane: Lane;
}

export type EngineInput =
  | PhotoEyeInput
  | BarcodeInput
  | CtVerdictInput
  | WeightInput
  | DeviceStatusInput
  | BeltSpeedInput
  | EncoderInput
  | LineStateInput
  | LaneConfirmInput;

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
