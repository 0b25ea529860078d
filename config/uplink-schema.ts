import { Type, type Static } from 'typebox';
import { commandSecurityFields } from './command-security-schema.js';
import { PemPath } from './schema-fields.js';

/**
 * Configuration sections `uplink` (MQTT to the central platform: broker, TLS, window, backoff,
 * telemetry, commands) and `outbox` (the SQLite store it publishes from); part of config/schema.ts.
 */

export const UplinkTlsSchema = Type.Object(
  {
    ca: Type.Optional(PemPath('PEM file of the CA(s) that sign the broker certificate')),
    cert: Type.Optional(PemPath('PEM client certificate file (mTLS)')),
    key: Type.Optional(PemPath('PEM private key file of the client certificate (a path)')),
    passphrase: Type.Optional(
      Type.String({ description: 'key passphrase, usually ${env:NAME} or ${file:PATH}' }),
    ),
    servername: Type.Optional(
      Type.String({ description: 'TLS SNI / name checked in the broker certificate' }),
    ),
    rejectUnauthorized: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

/** `uplink.sparkplug`: the Sparkplug B edge node (uplink.mode sparkplug; docs/platform.md). */
export const SparkplugSchema = Type.Object(
  {
    groupId: Type.Optional(
      Type.String({
        pattern: '^[^/+#]+$',
        description: 'Sparkplug group id (default: gateway.site)',
      }),
    ),
    edgeNodeId: Type.Optional(
      Type.String({
        pattern: '^[^/+#]+$',
        description: 'Sparkplug edge node id (default: gateway.id)',
      }),
    ),
    primaryHostId: Type.Optional(
      Type.String({
        pattern: '^[^/+#]+$',
        description:
          'wait for spBv1.0/STATE/<id> online before NBIRTH; leave the session when it goes offline',
      }),
    ),
    batchMaxEvents: Type.Integer({
      minimum: 1,
      maximum: 5000,
      default: 200,
      description: 'stored events per NDATA message',
    }),
    unconfirmedMaxEvents: Type.Integer({
      minimum: 1,
      default: 2000,
      description:
        'events published but not yet confirmed received by the broker (UNSUBSCRIBE fence)',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const UplinkSchema = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('sparkplug')], {
        default: 'json',
        description:
          "json: the gateway's own topic tree (edge/uplink/asyncapi.yaml), commands; sparkplug: Sparkplug B 3.0 edge node (docs/platform.md), no JSON commands",
      }),
    ),
    sparkplug: Type.Optional(SparkplugSchema),
    url: Type.String({
      default: 'embedded',
      description: "broker URL (mqtt://, mqtts://) or 'embedded' for the gateway's own broker",
    }),
    protocolVersion: Type.Union([Type.Literal(4), Type.Literal(5)], { default: 4 }),
    topicRoot: Type.String({ pattern: '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$', default: 'customs' }),
    username: Type.Optional(Type.String()),
    password: Type.Optional(
      Type.String({ description: 'usually ${env:NAME} or ${file:PATH}; never logged' }),
    ),
    tls: Type.Optional(UplinkTlsSchema),
    sessionExpiryS: Type.Integer({
      minimum: 0,
      default: 7 * 24 * 3600,
      description: 'MQTT 5 session expiry (persistent session); 3.1.1 sessions never expire',
    }),
    inFlightWindow: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 100,
      description: "upper bound; the broker's Receive Maximum (MQTT 5 CONNACK) lowers it",
    }),
    publishTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
    maxPacketBytes: Type.Optional(
      Type.Integer({
        minimum: 1024,
        maximum: 268_435_455,
        description:
          'largest MQTT packet the broker accepts, for MQTT 3.1.1 brokers that cannot announce it (AWS IoT 131072, Azure 262144); the MQTT 5 CONNACK Maximum Packet Size lowers it. Larger events are parked, not sent (alarm.uplink-oversize)',
      }),
    ),
    keepaliveS: Type.Integer({ minimum: 1, default: 30 }),
    backoff: Type.Object(
      {
        initialMs: Type.Integer({ minimum: 10, default: 500 }),
        maxMs: Type.Integer({ minimum: 100, default: 30_000 }),
        spreadMs: Type.Optional(
          Type.Integer({
            minimum: 0,
            description:
              'the first retry after a lost connection waits a random time in [0, spreadMs] (default maxMs / 2, 15 s): a fleet that loses its broker at once comes back spread over that window (docs/platform.md); 0: no spread',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    telemetry: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        intervalMs: Type.Integer({ minimum: 1000, default: 10_000 }),
        qos: Type.Union([Type.Literal(0), Type.Literal(1)], {
          default: 0,
          description: 'QoS of the telemetry topic (events are always QoS 1)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    commands: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        handlerTimeoutMs: Type.Integer({ minimum: 100, default: 15_000 }),
        replayMaxEvents: Type.Integer({ minimum: 1, default: 10_000 }),
        replayEventsPerS: Type.Integer({ minimum: 1, default: 500 }),
        replayMinIntervalMs: Type.Integer({ minimum: 0, default: 5_000 }),
        ...commandSecurityFields,
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export const OutboxSchema = Type.Object(
  {
    file: Type.String({ default: 'outbox.sqlite' }),
    synchronous: Type.Union([Type.Literal('FULL'), Type.Literal('NORMAL')], {
      default: 'FULL',
    }),
    batchMaxRows: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
    maxBytes: Type.Integer({
      minimum: 65_536,
      default: 512 * 1024 * 1024,
      description:
        'disk quota for stored events; delivered rows go first, then pending rows by priority. The limit in force is the smaller of this and what the disk allows (free space minus diskReserveBytes, re-read every diskCheckIntervalMs): see docs/storage.md',
    }),
    diskReserveBytes: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'free space the outbox leaves to the rest of the system (default: 5 % of the file system, at most 256 MiB)',
      }),
    ),
    reserveFileBytes: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'size of the reserve file released when a write fails for lack of space, so deliveries can still be marked (default: 2 % of the file system, 256 KiB to 4 MiB; 0: none)',
      }),
    ),
    diskCheckIntervalMs: Type.Integer({ minimum: 100, default: 5000 }),
    stuckAfterMs: Type.Integer({
      minimum: 1000,
      default: 30_000,
      description:
        'uplink connected, events pending and none delivered this long: the outbox is stuck (degraded, alarm)',
    }),
    degradedHoldMs: Type.Integer({
      minimum: 1000,
      default: 60_000,
      description: 'how long dropped or unstored events keep health degraded',
    }),
    deliveredRetentionS: Type.Integer({
      minimum: 0,
      default: 3 * 24 * 3600,
      description: 'delivered rows are kept this long for replay, then deleted',
    }),
    priorities: Type.Record(Type.String(), Type.Integer({ minimum: 0, maximum: 2 }), {
      default: {},
      description:
        "event type (or 'prefix.*') -> 0 telemetry, 1 operational, 2 records (kept longest)",
    }),
    maintenanceIntervalMs: Type.Integer({ minimum: 100, default: 30_000 }),
    quickCheckOnStart: Type.Boolean({ default: true }),
  },
  { additionalProperties: false, default: {} },
);

export type UplinkConfig = Static<typeof UplinkSchema>;
