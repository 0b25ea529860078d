import type { StoredRow } from '../../outbox/outbox.js';
import type { TelemetryPayload } from '../../telemetry/schema.js';
import type { DeviceAvailabilityState } from '../device-availability.js';
import { DataType, type SparkplugMetric, type SparkplugTemplate } from './codec.js';

/**
 * What the gateway reports over Sparkplug B, and its aliases (unique across the edge node; every
 * metric of a BIRTH has name and alias except 'Node Control/Rebirth', which must have none).
 *
 * Node (NBIRTH / NDATA):
 *   bdSeq, Node Control/Rebirth, Properties/*, Line/* KPIs and Outbox/* (from the telemetry
 *   stream), Events/Last Seq, and two template instances carrying the event stream in order:
 *   Parcel/Decision (template ParcelDecision: every parcel.decided) and Events/Record (template
 *   EdgeEvent: every other event, payload as JSON text). Both carry the event's `seq` and `id`
 *   (gapless per gateway, a re-sent event keeps its id), so a host can dedupe and see gaps.
 * Devices (DBIRTH / DDATA / DDEATH): one Sparkplug device per driver, the gate controller and
 *   each line device the engine watches: Status/State, Status/Reason, Status/Since,
 *   Properties/Kind. A device that is lost gets a DDEATH; when it comes back, a DBIRTH.
 */

type Kind = 'Int32' | 'Int64' | 'UInt64' | 'Double' | 'Boolean' | 'String' | 'DateTime';

/** A metric value in the field its datatype uses (null -> is_null). */
export function valued(
  m: { name?: string; alias?: number; timestamp?: number },
  kind: Kind,
  value: unknown,
): SparkplugMetric {
  const out: SparkplugMetric = { ...m, datatype: DataType[kind] };
  if (value === null || value === undefined || (typeof value === 'number' && !isFinite(value))) {
    out.isNull = true;
    return out;
  }
  switch (kind) {
    case 'Int32':
      out.intValue = Number(value);
      break;
    case 'Int64':
    case 'UInt64':
      out.longValue = Number(value);
      break;
    case 'DateTime':
      out.longValue = typeof value === 'string' ? Date.parse(value) : Number(value);
      break;
    case 'Double':
      out.doubleValue = Number(value);
      break;
    case 'Boolean':
      out.booleanValue = Boolean(value);
      break;
    case 'String':
      out.stringValue = typeof value === 'string' ? value : JSON.stringify(value);
      break;
  }
  return out;
}

const DECISION_MEMBERS: [string, Kind][] = [
  ['seq', 'UInt64'],
  ['id', 'String'],
  ['parcelId', 'String'],
  ['lane', 'String'],
  ['outlet', 'String'],
  ['ruleId', 'String'],
  ['reason', 'String'],
  ['code', 'String'],
  ['verdict', 'String'],
  ['customsMode', 'String'],
  ['revised', 'Boolean'],
  ['time', 'DateTime'],
];
const EVENT_MEMBERS: [string, Kind][] = [
  ['seq', 'UInt64'],
  ['id', 'String'],
  ['type', 'String'],
  ['parcelId', 'String'],
  ['monoMs', 'Double'],
  ['time', 'DateTime'],
  ['payload', 'String'],
];
export const TEMPLATE_VERSION = '1';

function template(ref: string, members: [string, Kind][], values: Record<string, unknown>) {
  const t: SparkplugTemplate = {
    version: TEMPLATE_VERSION,
    templateRef: ref,
    isDefinition: false,
    metrics: members.map(([name, kind]) => valued({ name }, kind, values[name] ?? null)),
  };
  return t;
}

function definition(members: [string, Kind][]): SparkplugTemplate {
  return {
    version: TEMPLATE_VERSION,
    isDefinition: true,
    metrics: members.map(([name, kind]) => valued({ name }, kind, null)),
  };
}

interface NodeMetricSpec {
  name: string;
  alias?: number;
  kind: Kind;
}

/** Node metrics with their aliases; Node Control/Rebirth deliberately without one. */
export const NODE_METRICS = {
  bdSeq: { name: 'bdSeq', alias: 1, kind: 'Int64' },
  rebirth: { name: 'Node Control/Rebirth', kind: 'Boolean' },
  version: { name: 'Properties/Version', alias: 2, kind: 'String' },
  startedAt: { name: 'Properties/Started At', alias: 3, kind: 'DateTime' },
  eventSchema: { name: 'Properties/Event Schema', alias: 4, kind: 'Int32' },
  parcelsPerMin: { name: 'Line/Parcels Per Min', alias: 10, kind: 'Double' },
  noReadRate: { name: 'Line/No Read Rate', alias: 11, kind: 'Double' },
  inspectionRate: { name: 'Line/Inspection Rate', alias: 12, kind: 'Double' },
  divertConfirmationRate: { name: 'Line/Divert Confirmation Rate', alias: 13, kind: 'Double' },
  outboxPending: { name: 'Outbox/Pending', alias: 20, kind: 'UInt64' },
  outboxParked: { name: 'Outbox/Parked', alias: 21, kind: 'UInt64' },
  outboxDroppedRecords: { name: 'Outbox/Dropped Records', alias: 22, kind: 'UInt64' },
  lastSeq: { name: 'Events/Last Seq', alias: 30, kind: 'UInt64' },
} as const satisfies Record<string, NodeMetricSpec>;
type NodeKey = keyof typeof NODE_METRICS;

export const DECISION_METRIC = { name: 'Parcel/Decision', alias: 40, ref: 'ParcelDecision' };
export const EVENT_METRIC = { name: 'Events/Record', alias: 41, ref: 'EdgeEvent' };
const DEFINITION_ALIASES = { ParcelDecision: 50, EdgeEvent: 51 };

const DEVICE_METRICS = [
  { name: 'Status/State', offset: 0, kind: 'String' },
  { name: 'Status/Reason', offset: 1, kind: 'String' },
  { name: 'Status/Since', offset: 2, kind: 'DateTime' },
  { name: 'Properties/Kind', offset: 3, kind: 'String' },
] as const;

/** The node's current values, updated from the stream, and the metrics of each message. */
export class SparkplugMetrics {
  private readonly values = new Map<NodeKey, unknown>();
  private lastDecision: Record<string, unknown> | null = null;
  private lastEvent: Record<string, unknown> | null = null;
  private readonly deviceAliasBase = new Map<string, number>();

  constructor(props: { version: string; startedAt: string; eventSchema: number }) {
    this.values.set('version', props.version);
    this.values.set('startedAt', props.startedAt);
    this.values.set('eventSchema', props.eventSchema);
  }

  /** Every node metric with name, alias, datatype and current value, the template definitions. */
  birth(bdSeq: number, nowMs: number): SparkplugMetric[] {
    const metrics: SparkplugMetric[] = [];
    for (const [key, spec] of Object.entries(NODE_METRICS) as [NodeKey, NodeMetricSpec][]) {
      const value = key === 'bdSeq' ? bdSeq : key === 'rebirth' ? false : this.values.get(key);
      metrics.push(
        valued({ name: spec.name, alias: spec.alias, timestamp: nowMs }, spec.kind, value),
      );
    }
    for (const [ref, members] of [
      ['ParcelDecision', DECISION_MEMBERS],
      ['EdgeEvent', EVENT_MEMBERS],
    ] as const) {
      metrics.push({
        name: ref,
        alias: DEFINITION_ALIASES[ref],
        timestamp: nowMs,
        datatype: DataType.Template,
        templateValue: definition(members),
      });
    }
    metrics.push({
      name: DECISION_METRIC.name,
      alias: DECISION_METRIC.alias,
      timestamp: nowMs,
      datatype: DataType.Template,
      templateValue: template(DECISION_METRIC.ref, DECISION_MEMBERS, this.lastDecision ?? {}),
    });
    metrics.push({
      name: EVENT_METRIC.name,
      alias: EVENT_METRIC.alias,
      timestamp: nowMs,
      datatype: DataType.Template,
      templateValue: template(EVENT_METRIC.ref, EVENT_MEMBERS, this.lastEvent ?? {}),
    });
    return metrics;
  }

  private node(key: NodeKey, value: unknown, timestamp: number, historical: boolean) {
    this.values.set(key, value);
    const spec: NodeMetricSpec = NODE_METRICS[key];
    const m = valued({ alias: spec.alias, timestamp }, spec.kind, value);
    if (historical) m.isHistorical = true;
    return m;
  }

  /** The NDATA metrics of one stored row (alias only, no name). */
  data(row: StoredRow, historical: boolean): SparkplugMetric[] {
    const timestamp = Date.parse(row.time);
    if (row.stream === 'telemetry') {
      const t = JSON.parse(row.payloadJson) as Partial<TelemetryPayload>;
      const out: SparkplugMetric[] = [];
      if (t.line) {
        out.push(this.node('parcelsPerMin', t.line.parcelsPerMin, timestamp, historical));
        out.push(this.node('noReadRate', t.line.noReadRate, timestamp, historical));
        out.push(this.node('inspectionRate', t.line.inspectionRate, timestamp, historical));
        out.push(
          this.node('divertConfirmationRate', t.line.divertConfirmationRate, timestamp, historical),
        );
      }
      if (t.outbox) {
        out.push(this.node('outboxPending', t.outbox.pending, timestamp, historical));
        out.push(this.node('outboxParked', t.outbox.parked, timestamp, historical));
        out.push(this.node('outboxDroppedRecords', t.outbox.droppedRecords, timestamp, historical));
      }
      return out;
    }
    const last = this.node('lastSeq', row.seq, timestamp, historical);
    let metric: SparkplugMetric;
    if (row.type === 'parcel.decided') {
      const p = JSON.parse(row.payloadJson) as Record<string, unknown>;
      this.lastDecision = {
        ...p,
        seq: row.seq,
        id: row.id,
        parcelId: row.parcelId,
        time: row.time,
        revised: p.revised ?? false,
      };
      metric = {
        alias: DECISION_METRIC.alias,
        timestamp,
        datatype: DataType.Template,
        templateValue: template(DECISION_METRIC.ref, DECISION_MEMBERS, this.lastDecision),
      };
    } else {
      this.lastEvent = {
        seq: row.seq,
        id: row.id,
        type: row.type,
        parcelId: row.parcelId,
        monoMs: row.monoMs,
        time: row.time,
        payload: row.payloadJson,
      };
      metric = {
        alias: EVENT_METRIC.alias,
        timestamp,
        datatype: DataType.Template,
        templateValue: template(EVENT_METRIC.ref, EVENT_MEMBERS, this.lastEvent),
      };
    }
    if (historical) metric.isHistorical = true;
    return [metric, last];
  }

  private aliasBase(deviceId: string): number {
    let base = this.deviceAliasBase.get(deviceId);
    if (base === undefined) {
      base = 1000 + this.deviceAliasBase.size * 10;
      this.deviceAliasBase.set(deviceId, base);
    }
    return base;
  }

  /** DBIRTH (names and aliases) or DDATA (aliases only) metrics of a device. */
  device(d: DeviceAvailabilityState, birth: boolean, nowMs: number): SparkplugMetric[] {
    const base = this.aliasBase(d.deviceId);
    const values = [d.state, d.reason, d.since, d.kind];
    return DEVICE_METRICS.map((spec, i) =>
      valued(
        birth
          ? { name: spec.name, alias: base + spec.offset, timestamp: nowMs }
          : { alias: base + spec.offset, timestamp: nowMs },
        spec.kind,
        values[i],
      ),
    );
  }
}
