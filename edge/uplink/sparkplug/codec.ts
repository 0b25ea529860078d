import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/**
 * Sparkplug B payloads, encoded and decoded by protobufjs from the official sparkplug_b.proto of
 * Eclipse Tahu (shipped beside this file, EPL-2.0, unchanged). No hand-written encoder: the
 * message type comes from the .proto. uint64 fields (timestamps, seq, aliases, long values) are
 * read back as numbers (all values the gateway uses are below 2^53).
 */

/** Sparkplug B DataType numbers (sparkplug_b.proto, enum DataType). */
export const DataType = {
  Int32: 3,
  Int64: 4,
  UInt32: 7,
  UInt64: 8,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Template: 19,
} as const;

export interface SparkplugMetric {
  name?: string;
  alias?: number;
  timestamp?: number;
  datatype?: number;
  isHistorical?: boolean;
  isTransient?: boolean;
  isNull?: boolean;
  intValue?: number;
  longValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
  templateValue?: SparkplugTemplate;
}

export interface SparkplugTemplate {
  version?: string;
  metrics?: SparkplugMetric[];
  templateRef?: string;
  isDefinition?: boolean;
}

export interface SparkplugPayload {
  timestamp?: number;
  metrics?: SparkplugMetric[];
  seq?: number;
}

/** The .proto: beside the module in the source tree; from dist/, the source tree's copy. */
function protoFile(): string {
  const candidates = [
    new URL('./sparkplug_b.proto', import.meta.url),
    new URL('../../../../edge/uplink/sparkplug/sparkplug_b.proto', import.meta.url),
  ].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`sparkplug_b.proto not found (looked at ${candidates.join(', ')})`);
  return found;
}

let payloadType: protobuf.Type | null = null;
function type(): protobuf.Type {
  payloadType ??= protobuf.loadSync(protoFile()).lookupType('org.eclipse.tahu.protobuf.Payload');
  return payloadType;
}

export function encodePayload(payload: SparkplugPayload): Buffer {
  const t = type();
  const message = t.fromObject(payload);
  return Buffer.from(t.encode(message).finish());
}

export function decodePayload(bytes: Uint8Array): SparkplugPayload {
  const t = type();
  return t.toObject(t.decode(bytes), { longs: Number, defaults: false });
}

/** A metric's value by its datatype (null when is_null). */
export function metricValue(m: SparkplugMetric): unknown {
  if (m.isNull) return null;
  return (
    m.booleanValue ?? m.stringValue ?? m.longValue ?? m.intValue ?? m.doubleValue ?? m.templateValue
  );
}
