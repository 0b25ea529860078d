/** Inputs and outputs of the pure line engine. Times are monotonic milliseconds. */

export type Lane = 'inspection' | 'exception' | 'pass';
export type CtVerdict = 'clear' | 'suspect' | 'unknown';

/**
 * The identifiers a parcel is known by (correlation.ts): the waybill its scanner read, the CT's
 * own item / tracking id, the sorter PLC's tracking id given at induction, the CT image / report
 * id, and the gateway's induction count. A tracked parcel collects them as aliases; a verdict
 * names its parcel by any of them.
 */
export type IdKind = 'waybill' | 'ctItem' | 'plcTracking' | 'image' | 'induction';
export type ParcelIds = Partial<Record<IdKind, string>>;

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
  /**
   * when the parcel was in the CT tunnel (the verdict itself may arrive seconds later); null when
   * the CT does not report it: the verdict is then placed by its identifiers only
   */
  scannedAtMono: number | null;
  verdict: CtVerdict;
  /** the CT's id of this scan, for the record (its item id, else the waybill it names) */
  scanId: string;
  imageId: string | null;
  /**
   * the identifiers the verdict names its parcel by (waybill, CT item id, PLC tracking id, image
   * id); none: placed by scan time and position only
   */
  ids?: ParcelIds;
  /** what the scanner reports beside the verdict, carried into the record */
  details?: {
    waybill: string | null;
    confidence: number | null;
    operator: string | null;
    /** a remark of the driver that mapped the verdict, carried into the record */
    note?: string;
  };
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

/**
 * A remote inspector's CT decision (the platform's ct-decision command), keyed by parcel id or
 * waybill. Stricter wins: an officer's suspect/unknown sends the parcel to inspection whatever
 * the machine said; an officer's clear stands in for a machine verdict that has not arrived, but
 * never clears a machine suspect/unknown at the gateway (that parcel is cleared in inspection).
 */
export interface OfficerVerdictInput {
  type: 'officerVerdict';
  atMono: number;
  parcelId: string | null;
  waybill: string | null;
  verdict: CtVerdict;
  officerId: string;
  reportId: string | null;
  /** further identifiers the decision names (CT item id, image id, PLC tracking id) */
  ids?: ParcelIds;
  /**
   * `workstation`: an officer signed in at the inspector workstation (HTTP, a decision role,
   * audited) decided with the parcel in the queue; reportId is that decision's id. Anything else
   * (the platform's ct-decision command) is a remote decision: its clear must name the CT scan or
   * report it clears (officer-evidence.ts).
   */
  source?: 'platform' | 'workstation';
}

/**
 * An identifier given to a parcel on the line: the sorter PLC's tracking id assigned at induction
 * (placed on the parcel at `line.plcTracking`), or the CT's item id at the tunnel entry (placed on
 * the parcel at the CT). The parcel keeps it as an alias; verdicts and hand-offs use it.
 */
export interface ParcelIdInput {
  type: 'parcelId';
  deviceId: string;
  atMono: number;
  kind: 'plcTracking' | 'ctItem';
  value: string;
}

export type EngineInput =
  | OfficerVerdictInput
  | ParcelIdInput
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

/** Direct GPIO mode: the gate-controller process drives the output at `fireAtMono`. */
export interface GateCommand {
  gateId: string;
  parcelId: string;
  lane: Lane;
  /** when the gate output must change, monotonic ms */
  fireAtMono: number;
}

/** Withdraw a GPIO command already sent (line stopped, speed changed, parcel became unknown). */
export interface GateCancel {
  gateId: string;
  parcelId: string;
  /** the fire time of the command being withdrawn (identifies it with gateId + parcelId) */
  fireAtMono: number;
  reason: string;
}

/**
 * PLC hand-off mode: the sorter PLC tracks the parcel and fires its own diverter; the gateway
 * only hands it the decision. `divert` asks the PLC to send the parcel to `destination`; a later
 * `divert` for the same parcel replaces it (a revised decision: the inspection destination).
 * `revoke` withdraws an earlier divert where the inspection lane is not a PLC destination (the
 * parcel then goes straight on, to inspection). With the inspection lane configured as a PLC
 * destination every parcel is handed off, so safety never rests on the PLC's default
 * destination. The gateway's hand-off (edge/sorter) keys it as the PLC expects and waits for the
 * PLC's acknowledgement.
 */
export interface PlcDivertCommand {
  kind: 'plcDivert';
  action: 'divert' | 'revoke';
  /** the PLC driver / device id that receives the command */
  plcId: string;
  /** the diverter on the PLC side (the lane's gate id) */
  gateId: string;
  parcelId: string;
  /** the waybill the PLC can match on its own tracking (null when the parcel has no valid read) */
  code: string | null;
  /** every key a PLC may know the parcel by; the PLC's configuration picks one */
  keys: { waybill: string | null; plcTracking: string | null; inductionSeq: number };
  /** this parcel's hand-off number: a higher one replaces a lower one */
  seq: number;
  /** inspection until decided, sent as soon as the PLC can know the parcel (DivertPlanner) */
  provisional?: boolean;
  lane: Lane;
  /** lane id: 'pass', 'exception', 'inspection' or a customs outlet id */
  outlet: string;
  /** vendor destination code of that outlet (number or string, as the PLC expects) */
  destination: number | string;
  issuedAtMono: number;
  /** the moment the parcel is predicted at the diverter: the PLC must have the decision before */
  atDiverterMono: number | null;
}

export interface EngineOutput {
  events: EngineEventDraft[];
  gateCommands: GateCommand[];
  gateCancels: GateCancel[];
  plcCommands: PlcDivertCommand[];
}

export type GateMode = 'gpio' | 'plc';

export interface LaneGeometry {
  /** the output that diverts into this lane; absent for the straight-through inspection lane */
  gateId?: string;
  /** distance from the induction photo-eye to the diverter, mm */
  positionMm: number;
  /** gpio (default): the gateway times the gate; plc: the decision is handed to a sorter PLC */
  gateMode?: GateMode;
  plc?: { plcId: string; destination: number | string };
  /** lane-entry photo-eye that confirms a divert into this lane (LaneConfirmInput) */
  confirmPhotoEyeId?: string;
}

/** An extra pass outlet for one customs mode (9610 / 9710 / 9810 / 1210). */
export interface OutletGeometry extends LaneGeometry {
  id: string;
  gateId: string;
}

export type CustomsMode = '9610' | '9710' | '9810' | '1210';

/** Rule ids the engine knows. The safety rules always send to inspection. */
const SAFETY_RULE_IDS = [
  'tracking',
  'device-lost',
  'ct-suspect',
  'ct-unknown',
  'targeting',
  'ct-verdict-timeout',
] as const;
export const RULE_IDS = [...SAFETY_RULE_IDS, 'no-read', 'weight', 'customs-mode'] as const;
export type RuleId = (typeof RULE_IDS)[number];
/** Rules that must always be present, come before every other rule and send to inspection. */
export const SAFETY_RULES: readonly RuleId[] = SAFETY_RULE_IDS;
/** The default evaluation order: every safety rule first, then the others. */
export const DEFAULT_RULE_ORDER: readonly RuleId[] = RULE_IDS;

export interface RulesConfig {
  /** evaluation order; the safety rules must all be present and come first */
  order: RuleId[];
  /** lane for no-read / invalid id (exception or inspection) */
  noReadLane: 'exception' | 'inspection';
  weight?: { minKg: number; maxKg: number; lane: 'exception' | 'inspection' };
  customsModes?: { mode: CustomsMode; pattern: string; outlet?: string }[];
  /** when customs modes are configured: a parcel matching none goes to exception */
  requireCustomsMode?: boolean;
}

export interface TrackingConfig {
  mode: 'time' | 'encoder';
  /** encoder mode: mm of belt travel per count */
  mmPerCount?: number;
  /** encoder mode: the device id of the encoder (or PLC position) input */
  encoderId?: string;
  /** encoder mode: no count for this long while running -> tracking lost */
  encoderStaleMs?: number;
  /** the fastest the belt may run; deadlines are checked against it */
  maxSpeedMmPerS?: number;
}

export interface EngineConfig {
  lineId: string;
  /** nominal belt speed (time-based tracking until a live BeltSpeedInput arrives) */
  beltSpeedMmPerS: number;
  inductionPhotoEyeId: string;
  defaultParcelLengthMm: number;
  scanner: { positionMm: number; toleranceMm: number; deviceId?: string };
  ct: { positionMm: number; toleranceMm: number; deviceId?: string };
  /** checkweigher; when present with rules.weight, a parcel without a usable weight goes to exception */
  scale?: { positionMm: number; toleranceMm: number; deviceId?: string };
  /** where the sorter PLC gives a parcel its tracking id (ParcelIdInput); default 0 mm, 200 mm */
  plcTracking?: { positionMm: number; toleranceMm: number };
  decision: { actuationLeadMs: number; marginMs: number };
  lanes: { inspection: LaneGeometry; exception: LaneGeometry; pass: LaneGeometry };
  outlets?: OutletGeometry[];
  tracking?: TrackingConfig;
  rules?: RulesConfig;
  /** induction photo-eye blocked this long while the belt runs -> jam */
  jamTimeoutMs?: number;
  /** a divert not confirmed by the lane photo-eye within this distance past the diverter -> alarm */
  divertConfirmWindowMm?: number;
  /** GPIO commands are sent this long before they fire (and withdrawn on stops / speed changes) */
  gateCommandLeadMs?: number;
}

/** What the targeting list answers for a waybill (see edge/targeting). */
export interface TargetingHit {
  listVersion: string;
  entryId: string;
  match: 'exact' | 'prefix';
  pattern: string;
  reason: string | null;
}

export interface TargetingLookup {
  readonly version: string;
  match(code: string): TargetingHit | null;
}
