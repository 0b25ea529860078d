import { Type, type Static } from 'typebox';

/**
 * Size of an MQTT PUBLISH packet on the wire, to compare with the broker's Maximum Packet Size
 * (MQTT 5 CONNACK property, which "applies to the full MQTT packet", or `uplink.maxPacketBytes`).
 *
 *   fixed header     1 byte + Remaining Length (variable byte integer, 1-4 bytes)
 *   topic            2-byte length + UTF-8 bytes
 *   packet id        2 bytes when QoS > 0
 *   properties       MQTT 5 only: property length (variable byte integer) + the properties
 *                    (the uplink sends none on events and telemetry; replies may carry correlation
 *                    data: 1-byte id + 2-byte length + data)
 *   payload          UTF-8 bytes
 *
 * This is the exact size mqtt-packet writes for what the uplink sends (test/uplink/packet-size
 * compares it with mqtt-packet's own encoder); it never under-estimates, since the uplink adds no
 * properties (topic alias, user properties) the count does not know about.
 */

/** Bytes of an MQTT variable byte integer. */
export function varintBytes(n: number): number {
  if (n < 128) return 1;
  if (n < 16_384) return 2;
  if (n < 2_097_152) return 3;
  return 4;
}

export interface PublishShape {
  topic: string;
  /** payload bytes (UTF-8 length of the JSON text) */
  payloadBytes: number;
  qos: 0 | 1 | 2;
  protocolVersion: 4 | 5;
  /** MQTT 5 correlation data length, when the publish carries that property */
  correlationDataBytes?: number;
}

export function publishPacketBytes(p: PublishShape): number {
  let remaining = 2 + Buffer.byteLength(p.topic, 'utf8') + (p.qos > 0 ? 2 : 0) + p.payloadBytes;
  if (p.protocolVersion === 5) {
    const props = p.correlationDataBytes !== undefined ? 3 + p.correlationDataBytes : 0;
    remaining += varintBytes(props) + props;
  }
  return 1 + varintBytes(remaining) + remaining;
}

/**
 * The limit in force: the smaller of the configured `uplink.maxPacketBytes` and the Maximum
 * Packet Size of the current connection's CONNACK (MQTT 5; absent means "no limit" there).
 */
export class PacketLimit {
  private broker: number | null = null;

  constructor(private readonly configured: number | undefined) {}

  /** From each CONNACK: a new connection may announce a different limit (or none). */
  setBroker(maximumPacketSize: unknown): void {
    this.broker =
      typeof maximumPacketSize === 'number' && maximumPacketSize > 0 ? maximumPacketSize : null;
  }

  get brokerMaximum(): number | null {
    return this.broker;
  }

  get bytes(): number | null {
    const c = this.configured ?? null;
    if (c === null) return this.broker;
    if (this.broker === null) return c;
    return Math.min(c, this.broker);
  }
}

export const UPLINK_OVERSIZE_ALARM = 'alarm.uplink-oversize';

/** Payload of the `alarm.uplink-oversize` event: which row was parked instead of sent. */
export const UplinkOversizeAlarmSchema = Type.Object(
  {
    stream: Type.Union([Type.Literal('events'), Type.Literal('telemetry')]),
    seq: Type.Integer({
      description: 'the parked event: fetch it with replay once the limit allows',
    }),
    id: Type.String({ description: 'id of the parked event' }),
    type: Type.String({ description: 'type of the parked event' }),
    bytes: Type.Integer({ description: 'its PUBLISH packet size' }),
    limit: Type.Integer({ description: 'the maximum packet size in force' }),
  },
  { additionalProperties: false, $id: 'UplinkOversizeAlarm' },
);
export type UplinkOversizeAlarm = Static<typeof UplinkOversizeAlarmSchema>;

/**
 * The short error reply sent instead of a command reply too large for the broker: the request id
 * and command of the original reply (read back from its JSON), EDGE_UPLINK_TOO_LARGE.
 */
export function tooLargeReply(
  original: string,
  bytes: number,
  limit: number,
  fallbackCommand: string,
  nowIso: string,
): string {
  let id: string | null = null;
  let command = fallbackCommand;
  try {
    const doc = JSON.parse(original) as { id?: unknown; command?: unknown };
    if (typeof doc.id === 'string') id = doc.id;
    if (typeof doc.command === 'string') command = doc.command;
  } catch {
    // not JSON: answer with what the topic says
  }
  return JSON.stringify({
    schema: 1,
    id,
    command,
    ok: false,
    error: {
      code: 'EDGE_UPLINK_TOO_LARGE',
      message: `the reply (${bytes} bytes as an MQTT packet) exceeds the broker's maximum packet size of ${limit} bytes`,
      details: { bytes, limit },
    },
    time: nowIso,
  });
}
