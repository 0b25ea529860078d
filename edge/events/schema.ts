import { Type } from 'typebox';

/** The wire schemas of the event stream (see model.ts for the envelope's meaning). */
export const EventEnvelopeSchema = Type.Object(
  {
    schema: Type.Literal(1, { description: 'EVENT_SCHEMA_VERSION' }),
    id: Type.String({
      pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
      description: 'UUIDv7; a duplicate delivery carries the same id',
    }),
    stream: Type.Union([Type.Literal('events'), Type.Literal('telemetry')]),
    seq: Type.Integer({ minimum: 1, description: 'sequence in the stream, gapless, commit order' }),
    gatewayId: Type.String({ minLength: 1 }),
    type: Type.String({ pattern: '^[a-z][a-z0-9_-]*(\\.[a-z0-9_-]+)*$' }),
    parcelId: Type.Union([Type.String(), Type.Null()]),
    monoMs: Type.Number({ description: 'monotonic time of the fact on the gateway, ms' }),
    time: Type.String({ format: 'date-time' }),
    replay: Type.Optional(
      Type.Boolean({ description: 'true when re-sent by a replay command, not the live stream' }),
    ),
    payload: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false, $id: 'EventEnvelope' },
);

/** The retained status message (`<base>/status`): online on connect, offline as the last will. */
export const StatusSchema = Type.Object(
  {
    schema: Type.Literal(1),
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    gatewayId: Type.String(),
    version: Type.String(),
    startedAt: Type.String({ format: 'date-time' }),
    session: Type.Optional(
      Type.String({
        description:
          'id of the MQTT connection this status belongs to (the will carries the id of the connection it was registered on); a device status counts only while it carries the session of an online gateway status',
      }),
    ),
  },
  { additionalProperties: false, $id: 'Status' },
);

/**
 * The retained availability of one device (`<base>/devices/<deviceId>/status`). Valid only while
 * the gateway's own status is online with the same `session`: when the gateway dies its last will
 * turns `<base>/status` offline and every device status under it is stale (unknown) until the
 * gateway republishes them all after its next connect (docs/platform.md).
 */
export const DeviceStatusSchema = Type.Object(
  {
    schema: Type.Literal(1),
    gatewayId: Type.String(),
    deviceId: Type.String({ minLength: 1 }),
    kind: Type.String({
      description: 'driver kind or device role (gates, opcua, ct, scanner, ...)',
    }),
    state: Type.Union([Type.Literal('online'), Type.Literal('degraded'), Type.Literal('lost')]),
    reason: Type.Union([Type.String(), Type.Null()], {
      description: 'why it is degraded or lost (null when online)',
    }),
    since: Type.String({ format: 'date-time', description: 'when it entered this state' }),
    session: Type.String({ description: 'the gateway connection that published it' }),
  },
  { additionalProperties: false, $id: 'DeviceStatus' },
);
