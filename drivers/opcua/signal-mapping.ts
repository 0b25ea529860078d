import type { Clock } from '../../edge/clock.js';
import type { CtVerdict, EngineInput, ParcelIds } from '../../edge/engine/types.js';
import type { OpcuaSignalConfig } from './config-schema.js';

/**
 * Pure mapping from OPC UA values and event fields to engine inputs. No node-opcua import: the
 * caller hands plain JS values (Variant.value) so this is testable without a server.
 */

export const AUTOID_NS = 'http://opcfoundation.org/UA/AutoID/';
export const MACHINE_VISION_NS = 'http://opcfoundation.org/UA/MachineVision';
export const SIM_NS = 'urn:customs-edge:ct-plc-sim';
/** BaseEventType's EventType of the overflow event a server inserts into an event queue */
export const EVENT_QUEUE_OVERFLOW_EVENT_TYPE = 'i=3035';

export type FieldKey =
  | 'scanId'
  | 'waybill'
  | 'verdict'
  | 'imageId'
  | 'confidence'
  | 'operator'
  | 'scannedAt'
  | 'scanResult'
  | 'plcTrackingId'
  | 'trackingId';

export interface EventSelect {
  /** field keys in select-clause order, after the fixed EventId, EventType, Time */
  keys: FieldKey[];
  /** browse name per key: `Name` (in `namespaceUri`) or `<nsIndex>:Name` */
  names: string[];
  namespaceUri: string | null;
  /** nodeId (may be nsu=) of the event type for an OfType where clause */
  eventType: string | null;
}

const PRESETS: Record<
  NonNullable<OpcuaSignalConfig['preset']>,
  { ns: string | null; eventType: string | null; fields: Partial<Record<FieldKey, string>> }
> = {
  ctScanComplete: {
    ns: null,
    eventType: null,
    fields: {
      scanId: 'TrackingId',
      waybill: 'Waybill',
      verdict: 'Verdict',
      imageId: 'ImageId',
      confidence: 'Confidence',
      operator: 'Operator',
      scannedAt: 'ScannedAt',
    },
  },
  autoIdOpticalScan: {
    ns: AUTOID_NS,
    eventType: `nsu=${AUTOID_NS};i=1009`,
    fields: { scanResult: 'ScanResult' },
  },
  machineVisionResultReady: {
    ns: MACHINE_VISION_NS,
    eventType: `nsu=${MACHINE_VISION_NS};i=1024`,
    fields: { scanId: 'PartId', imageId: 'ResultId', verdict: 'ResultState' },
  },
};

export function signalSource(s: OpcuaSignalConfig): 'event' | 'dataChange' {
  return s.source ?? (s.kind === 'ctVerdict' || s.kind === 'barcode' ? 'event' : 'dataChange');
}

/** Signals whose fields are structures (AutoID ScanResult, Machine Vision ids) need the server's data types. */
export function needsServerDataTypes(s: OpcuaSignalConfig): boolean {
  return s.kind === 'barcode' || s.preset === 'machineVisionResultReady';
}

export function eventSelect(s: OpcuaSignalConfig): EventSelect {
  if (s.kind === 'trackingId') {
    // a PLC's item-inducted event (vendor type): its id field, TrackingId unless configured
    const fields: Partial<Record<FieldKey, string>> = { trackingId: 'TrackingId', ...s.fields };
    const keys = (Object.keys(fields) as FieldKey[]).filter((k) => fields[k]);
    return {
      keys,
      names: keys.map((k) => fields[k] as string),
      namespaceUri: s.fieldNamespace ?? null,
      eventType: s.eventType ?? null,
    };
  }
  const presetName = s.preset ?? (s.kind === 'barcode' ? 'autoIdOpticalScan' : 'ctScanComplete');
  const preset = PRESETS[presetName];
  const fields: Partial<Record<FieldKey, string>> = { ...preset.fields, ...(s.fields ?? {}) };
  const keys = (Object.keys(fields) as FieldKey[]).filter((k) => fields[k]);
  return {
    keys,
    names: keys.map((k) => fields[k] as string),
    namespaceUri: s.fieldNamespace ?? preset.ns,
    eventType: s.eventType ?? preset.eventType,
  };
}

/** Where the parcel was in time: the server's wall timestamp moved onto the monotonic clock. */
export function wallToMono(clock: Clock, wallMs: number | null | undefined): number {
  const monoNow = clock.monoMs();
  if (wallMs === null || wallMs === undefined || !Number.isFinite(wallMs)) return monoNow;
  const age = clock.wallMs() - wallMs;
  // a server clock ahead of ours must not place the parcel in the future
  return age <= 0 ? monoNow : monoNow - age;
}

const DEFAULT_CLEAR = ['clear', 'no_alarm', 'noalarm', 'pass', 'ok', 'released'];
const DEFAULT_SUSPECT = ['suspect', 'alarm', 'threat', 'inspect', 'hold'];

export function mapVerdict(
  raw: unknown,
  values: OpcuaSignalConfig['verdictValues'],
  preset?: OpcuaSignalConfig['preset'],
): CtVerdict {
  if (raw === null || raw === undefined) return 'unknown';
  const cfg =
    values ??
    (preset === 'machineVisionResultReady'
      ? { clear: [1], suspect: [2] }
      : { clear: DEFAULT_CLEAR, suspect: DEFAULT_SUSPECT });
  const matches = (list: (string | number)[]) =>
    list.some((v) =>
      typeof v === 'number'
        ? Number(raw) === v
        : typeof raw === 'string' && raw.trim().toLowerCase() === v.toLowerCase(),
    );
  if (matches(cfg.suspect)) return 'suspect';
  if (matches(cfg.clear)) return 'clear';
  return 'unknown';
}

function asString(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v.length > 0 ? v : null;
  if (Buffer.isBuffer(v)) return v.length > 0 ? v.toString('utf8') : null;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return null;
}

/**
 * An identifier: a string, or an identifier structure such as Machine Vision's PartIdDataType /
 * ResultIdDataType ({ Id, Description }), decoded by node-opcua with camel-case field names.
 */
function asId(v: unknown): string | null {
  const direct = asString(v);
  if (direct !== null || typeof v !== 'object' || v === null || Buffer.isBuffer(v)) return direct;
  const r = v as Record<string, unknown>;
  return asString(r.id ?? r.Id);
}

function asWallMs(v: unknown): number | null {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

/**
 * An AutoID ScanResult (OpticalScanResult: CodeType, ScanData union {ByteString, String, Epc,
 * Custom}, Timestamp) or an array of them, a decoded structure or a plain string / ByteString.
 */
export function decodeScanResult(v: unknown): { code: string | null; symbology?: string } {
  const first = Array.isArray(v) ? (v as unknown[])[0] : v;
  const direct = asString(first);
  if (direct !== null) return { code: direct };
  if (typeof first !== 'object' || first === null) return { code: null };
  const r = first as Record<string, unknown>;
  const data = (r.scanData ?? r.ScanData) as Record<string, unknown> | string | undefined;
  let code: string | null = null;
  if (typeof data === 'string' || Buffer.isBuffer(data)) code = asString(data);
  else if (data && typeof data === 'object') {
    code =
      asString(data.string) ??
      asString(data.String) ??
      asString(data.byteString) ??
      asString(data.ByteString) ??
      asString(data.value);
  }
  const codeType = asString(r.codeType ?? r.CodeType);
  return codeType ? { code, symbology: codeType } : { code };
}

/** The identifier check of a barcode signal (edge/identifiers): valid, or why not. */
export type IdCheck = (code: string) => { valid: boolean; reason?: string };

export interface EventMapContext {
  clock: Clock;
  deviceId: string;
  /** Time field of the event (wall ms) */
  eventTimeMs: number | null;
  /** barcode: the same identifier check as a serial scanner's (S10 check digit, carriers) */
  checkId?: IdCheck;
}

export interface MappedVerdictDetails {
  waybill: string | null;
  confidence: number | null;
  operator: string | null;
  note?: string;
}

/** Map one event's selected fields to an engine input; null when it carries nothing usable. */
export function mapEvent(
  s: OpcuaSignalConfig,
  fields: Partial<Record<FieldKey, unknown>>,
  ctx: EventMapContext,
): { input: EngineInput; details?: MappedVerdictDetails } | null {
  if (s.kind === 'ctVerdict') {
    const waybill = asId(fields.waybill);
    const ctItem = asId(fields.scanId);
    const plcTracking = asId(fields.plcTrackingId);
    const imageId = asId(fields.imageId);
    // the CT's id of the scan for the record; a verdict naming nothing is not mapped
    const scanId = ctItem ?? waybill ?? plcTracking;
    if (scanId === null) return null;
    const scanTime = asWallMs(fields.scannedAt);
    // without a scan-time field the verdict is placed by its identifiers only (the engine),
    // unless the scanner judges in the tunnel and its event Time is the scan time
    const scannedWall = scanTime ?? (s.eventTimeIsScanTime ? ctx.eventTimeMs : null);
    const confidence = fields.confidence === undefined ? null : Number(fields.confidence);
    const details: MappedVerdictDetails = {
      waybill,
      confidence: confidence !== null && Number.isFinite(confidence) ? confidence : null,
      operator: asString(fields.operator),
    };
    const ids: ParcelIds = {
      ...(waybill !== null ? { waybill } : {}),
      ...(ctItem !== null ? { ctItem } : {}),
      ...(plcTracking !== null ? { plcTracking } : {}),
      ...(imageId !== null ? { image: imageId } : {}),
    };
    return {
      input: {
        type: 'ctVerdict',
        deviceId: ctx.deviceId,
        scannedAtMono: scannedWall === null ? null : wallToMono(ctx.clock, scannedWall),
        verdict: mapVerdict(fields.verdict, s.verdictValues, s.preset),
        scanId,
        imageId,
        ids,
        details,
      },
      details,
    };
  }
  if (s.kind === 'trackingId') {
    const value = trackingIdValue(fields.trackingId);
    if (value === null) return null;
    return {
      input: {
        type: 'parcelId',
        deviceId: ctx.deviceId,
        atMono: wallToMono(ctx.clock, ctx.eventTimeMs),
        kind: s.idKind ?? 'plcTracking',
        value,
      },
    };
  }
  if (s.kind === 'barcode') {
    const decoded = decodeScanResult(fields.scanResult ?? fields.scanId);
    let atWall = ctx.eventTimeMs;
    const first: unknown = Array.isArray(fields.scanResult)
      ? (fields.scanResult as unknown[])[0]
      : fields.scanResult;
    if (first && typeof first === 'object') {
      atWall = asWallMs((first as Record<string, unknown>).timestamp) ?? atWall;
    }
    return {
      input: {
        type: 'barcode',
        deviceId: ctx.deviceId,
        atMono: wallToMono(ctx.clock, atWall),
        code: decoded.code,
        valid: isValidCode(decoded.code, ctx.checkId),
        ...(decoded.symbology ? { symbology: decoded.symbology } : {}),
      },
    };
  }
  return null;
}

export interface DataChangeContext {
  clock: Clock;
  deviceId: string;
  sourceTimeMs: number | null;
  checkId?: IdCheck;
}

/** A read is valid when there is a code and it passes the identifier check (if any). */
function isValidCode(code: string | null, check: IdCheck | undefined): boolean {
  if (code === null) return false;
  return check ? check(code).valid : true;
}

/** A PLC tracking id: a string or an integer; 0 / empty means "none" on most PLCs. */
export function trackingIdValue(v: unknown): string | null {
  const id = asId(v);
  if (id === null) return null;
  const trimmed = id.trim();
  if (trimmed.length === 0 || /^0+$/.test(trimmed)) return null;
  return trimmed;
}

/** Map one data change. Life bits are handled by the caller (LifeBitWatch). */
export function mapDataChange(
  s: OpcuaSignalConfig,
  value: unknown,
  ctx: DataChangeContext,
): EngineInput | null {
  const atMono = wallToMono(ctx.clock, ctx.sourceTimeMs);
  switch (s.kind) {
    case 'photoEye': {
      if (value === null || value === undefined) return null;
      const blocked = Boolean(typeof value === 'number' ? value !== 0 : value) !== s.invert;
      return {
        type: 'photoEye',
        deviceId: ctx.deviceId,
        atMono,
        edge: blocked ? 'leading' : 'trailing',
      };
    }
    case 'beltSpeed': {
      const n = Number(value);
      if (value === null || !Number.isFinite(n)) return null;
      return { type: 'beltSpeed', deviceId: ctx.deviceId, atMono, mmPerS: n * s.scale };
    }
    case 'barcode': {
      const decoded = decodeScanResult(value);
      return {
        type: 'barcode',
        deviceId: ctx.deviceId,
        atMono,
        code: decoded.code,
        valid: isValidCode(decoded.code, ctx.checkId),
      };
    }
    case 'trackingId': {
      const id = trackingIdValue(value);
      if (id === null) return null;
      return {
        type: 'parcelId',
        deviceId: ctx.deviceId,
        atMono,
        kind: s.idKind ?? 'plcTracking',
        value: id,
      };
    }
    default:
      return null;
  }
}
