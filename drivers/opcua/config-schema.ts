import { Type, type Static } from 'typebox';
import { OptionalIdentifiersSchema } from '../../edge/identifiers/schema.js';

/**
 * Configuration of the `opcua` driver kind. Static and light: config/loader validates it without
 * loading node-opcua (the driver itself is imported dynamically by drivers/kinds.ts).
 *
 * NodeIds may name the namespace by URI (`nsu=urn:vendor:ct;s=CT1.Verdict`), which is resolved
 * against the server's namespace array after each connect; browse paths use the node-opcua
 * syntax relative to the Root folder (`/Objects/1:SorterPLC/1:BeltSpeed`).
 */

const Name = (description: string) =>
  Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description });
const DeviceId = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' });

export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
/** Node >= 20.11 disabled RSA PKCS#1 v1.5: Basic128Rsa15 and Basic256 are not offered. */
export const SECURITY_POLICIES = [
  'None',
  'Basic256Sha256',
  'Aes128_Sha256_RsaOaep',
  'Aes256_Sha256_RsaPss',
] as const;

const Address = {
  nodeId: Type.Optional(
    Type.String({ minLength: 1, description: 'ns=2;s=X, i=85, or nsu=<namespace uri>;s=X' }),
  ),
  browsePath: Type.Optional(
    Type.String({ pattern: '^/', description: 'relative to Root: /Objects/2:Plc/2:Speed' }),
  ),
};

export const DEVICE_ROLES = ['scanner', 'ct', 'scale', 'plc', 'photoEye', 'gate', 'other'] as const;
const WRITE_TYPES = [
  'Boolean',
  'String',
  'Int16',
  'Int32',
  'UInt16',
  'UInt32',
  'Float',
  'Double',
] as const;

export const SIGNAL_KINDS = [
  'ctVerdict',
  'barcode',
  'photoEye',
  'beltSpeed',
  'lifeBit',
  'value',
  'trackingId',
] as const;

export const OpcuaSignalSchema = Type.Object(
  {
    name: Name('named signal, e.g. ct1.verdict, line.speed, pe.infeed'),
    kind: Type.Enum(SIGNAL_KINDS),
    ...Address,
    source: Type.Optional(
      Type.Union([Type.Literal('dataChange'), Type.Literal('event')], {
        description: 'default: event for ctVerdict and barcode, dataChange otherwise',
      }),
    ),
    deviceId: Type.Optional(DeviceId),
    samplingIntervalMs: Type.Number({ minimum: 0, default: 0 }),
    queueSize: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
    discardOldest: Type.Boolean({ default: false }),
    deadband: Type.Optional(
      Type.Object(
        {
          type: Type.Union([Type.Literal('absolute'), Type.Literal('percent')]),
          value: Type.Number({ minimum: 0 }),
        },
        { additionalProperties: false },
      ),
    ),
    eventType: Type.Optional(
      Type.String({
        description:
          'only events of this type: its NodeId or its browse name (Name or <ns index>:Name), checked on the server to be an event type (default by preset)',
      }),
    ),
    preset: Type.Optional(
      Type.Union(
        [
          Type.Literal('ctScanComplete'),
          Type.Literal('autoIdOpticalScan'),
          Type.Literal('machineVisionResultReady'),
        ],
        { description: 'event field mapping preset; fields below override it' },
      ),
    ),
    fieldNamespace: Type.Optional(
      Type.String({ description: 'namespace URI of the event fields (vendor event types)' }),
    ),
    eventTimeIsScanTime: Type.Optional(
      Type.Boolean({
        description:
          'ctVerdict without a scan-time field: the event Time is when the parcel was in the tunnel (a scanner that judges before the parcel leaves it). Otherwise a clear verdict without a scan time is taken as unknown: it cannot be placed on the right parcel',
      }),
    ),
    fields: Type.Optional(
      Type.Object(
        {
          scanId: Type.Optional(Type.String()),
          waybill: Type.Optional(Type.String()),
          verdict: Type.Optional(Type.String()),
          imageId: Type.Optional(Type.String()),
          confidence: Type.Optional(Type.String()),
          operator: Type.Optional(Type.String()),
          scannedAt: Type.Optional(Type.String()),
          scanResult: Type.Optional(Type.String()),
          plcTrackingId: Type.Optional(
            Type.String({ description: 'ctVerdict: the PLC tracking id the CT was given' }),
          ),
          trackingId: Type.Optional(
            Type.String({ description: 'trackingId signal from events: the id field' }),
          ),
        },
        {
          additionalProperties: false,
          description: 'event field browse names (Name or <nsIndex>:Name)',
        },
      ),
    ),
    verdictValues: Type.Optional(
      Type.Object(
        {
          clear: Type.Array(Type.Union([Type.String(), Type.Number()])),
          suspect: Type.Array(Type.Union([Type.String(), Type.Number()])),
        },
        { additionalProperties: false, description: 'anything else maps to unknown' },
      ),
    ),
    // barcode: the identifier check of a serial scanner (default: S10 check digit, nothing else)
    identifiers: Type.Optional(OptionalIdentifiersSchema),
    idKind: Type.Optional(
      Type.Union([Type.Literal('plcTracking'), Type.Literal('ctItem')], {
        description:
          'trackingId: the PLC tracking id given at induction (default) or the CT item id at the tunnel entry',
      }),
    ),
    invert: Type.Boolean({ default: false, description: 'photoEye: true means beam clear' }),
    scale: Type.Number({ default: 1, description: 'beltSpeed: multiply to get mm/s' }),
    lifeBitTimeoutMs: Type.Integer({ minimum: 100, default: 3000 }),
    role: Type.Optional(Type.Enum(DEVICE_ROLES)),
  },
  { additionalProperties: false },
);

/** What a decision hand-off argument or register carries (see drivers/opcua/sorter-output.ts). */
const HAND_OFF_VALUES = ['key', 'destination', 'lane', 'parcelId', 'sequence'] as const;
const HandOffValue = Type.Enum(HAND_OFF_VALUES);
const DESTINATION_TYPES = ['Int16', 'Int32', 'UInt16', 'UInt32', 'String'] as const;

export const HandOffAckSchema = Type.Object(
  {
    mode: Type.Union(
      [
        Type.Literal('methodStatus'),
        Type.Literal('methodOutput'),
        Type.Literal('readBack'),
        Type.Literal('handshake'),
      ],
      {
        description:
          'methodStatus: a Good call status; methodOutput: an output argument in okValues; readBack: the written registers read back equal; handshake: the PLC sets nodeId to the expected value',
      },
    ),
    outputIndex: Type.Integer({ minimum: 0, default: 0 }),
    okValues: Type.Array(Type.Union([Type.Boolean(), Type.Number(), Type.String()]), {
      default: [true, 0, 'OK'],
    }),
    nodeId: Type.Optional(Type.String({ description: 'handshake: the variable the PLC sets' })),
    expect: Type.Union([Type.Literal('strobe'), Type.Literal('key'), Type.Literal('sequence')], {
      default: 'strobe',
      description:
        'handshake: the PLC copies the strobe value (or the key, or the sequence) into nodeId',
    }),
    timeoutMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
    pollMs: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  },
  { additionalProperties: false },
);

export const OpcuaOutputSchema = Type.Object(
  {
    name: Name('named output, e.g. plc.decision, gw.lifeBit'),
    kind: Type.Union([Type.Literal('write'), Type.Literal('method'), Type.Literal('decision')]),
    ...Address,
    dataType: Type.Optional(
      Type.Enum(WRITE_TYPES, { description: 'write: the variable data type (default Boolean)' }),
    ),
    objectId: Type.Optional(Type.String({ description: 'method: the object owning the method' })),
    methodId: Type.Optional(Type.String({ description: 'method / decision: the method nodeId' })),
    // not `key`: a field named key is a secret to the loader and the API (redacted)
    keyBy: Type.Optional(
      Type.Union(
        [Type.Literal('waybill'), Type.Literal('plcTrackingId'), Type.Literal('inductionCount')],
        {
          description:
            "decision: what the PLC knows a parcel by: the waybill (default), its own tracking id (a trackingId signal at induction), or the gateway's induction count",
        },
      ),
    ),
    arguments: Type.Optional(
      Type.Array(
        Type.Union([
          HandOffValue,
          Type.Object(
            { name: Type.String({ minLength: 1 }), value: HandOffValue },
            { additionalProperties: false },
          ),
        ]),
        {
          description:
            "decision by method: the input arguments in order (['key', 'destination'], the default), or by the method's argument names ([{ name: Destination, value: destination }, ...])",
        },
      ),
    ),
    destinationType: Type.Optional(
      Type.Enum(DESTINATION_TYPES, {
        description:
          "decision: the PLC's data type of destination codes: the registers' type (writes, default Int32); a method's argument keeps its declared type and the code is checked against this range",
      }),
    ),
    keyType: Type.Optional(
      Type.Enum(['String', 'Int32', 'UInt32'] as const, {
        description: 'decision by writes: the data type of the key register (default String)',
      }),
    ),
    keyNodeId: Type.Optional(Type.String({ description: 'decision by writes: the key register' })),
    trackingIdNodeId: Type.Optional(Type.String({ description: 'old name of keyNodeId' })),
    destinationNodeId: Type.Optional(
      Type.String({ description: 'decision by writes: the destination register' }),
    ),
    laneNodeId: Type.Optional(Type.String({ description: 'old name of destinationNodeId' })),
    sequenceNodeId: Type.Optional(
      Type.String({ description: 'decision by writes: a UInt32 request number, written first' }),
    ),
    strobeNodeId: Type.Optional(Type.String({ description: 'decision by writes: written last' })),
    strobeType: Type.Optional(
      Type.Union([Type.Literal('Boolean'), Type.Literal('UInt32')], {
        description: 'Boolean: toggled (default); UInt32: incremented',
      }),
    ),
    ack: Type.Optional(HandOffAckSchema),
  },
  { additionalProperties: false },
);

export const OpcuaServerSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }),
    endpointUrl: Type.String({ pattern: '^opc\\.tcp://' }),
    // secure by default: None must be chosen explicitly (a lab or a simulator)
    securityMode: Type.Enum(SECURITY_MODES, { default: 'SignAndEncrypt' }),
    securityPolicy: Type.Enum(SECURITY_POLICIES, {
      default: 'Basic256Sha256',
    }),
    userIdentity: Type.Union(
      [
        Type.Object({ type: Type.Literal('anonymous') }, { additionalProperties: false }),
        Type.Object(
          {
            type: Type.Literal('username'),
            username: Type.String({ minLength: 1 }),
            password: Type.String({ description: '${env:NAME} or ${file:PATH}' }),
          },
          { additionalProperties: false },
        ),
        Type.Object(
          {
            type: Type.Literal('certificate'),
            certificateFile: Type.String(),
            privateKeyFile: Type.String(),
          },
          { additionalProperties: false },
        ),
      ],
      { default: { type: 'anonymous' } },
    ),
    serverCertificateThumbprint: Type.Optional(
      Type.String({ pattern: '^[0-9a-fA-F]{40}$', description: 'pin: SHA-1 of the server cert' }),
    ),
    deviceId: Type.Optional(DeviceId),
    role: Type.Enum(DEVICE_ROLES, { default: 'plc' }),
    publishingIntervalMs: Type.Number({
      minimum: 0,
      default: 0,
      description: '0: the shortest the server allows',
    }),
    keepAliveCount: Type.Integer({ minimum: 2, default: 10 }),
    lifetimeCount: Type.Integer({ minimum: 6, default: 60 }),
    sessionTimeoutMs: Type.Integer({ minimum: 1000, default: 60_000 }),
    connectTimeoutMs: Type.Integer({
      minimum: 500,
      default: 15_000,
      description:
        'a connect attempt with no answer (a host that accepts and stays silent) is given up after this',
    }),
    backoff: Type.Object(
      {
        initialMs: Type.Integer({ minimum: 10, default: 500 }),
        maxMs: Type.Integer({ minimum: 100, default: 30_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    signals: Type.Array(OpcuaSignalSchema, { default: [] }),
    outputs: Type.Array(OpcuaOutputSchema, { default: [] }),
    gatewayLifeBit: Type.Optional(
      Type.Object(
        {
          output: Name('a write output of this server'),
          intervalMs: Type.Integer({ minimum: 100, default: 1000 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    additionalProperties: false,
    // a username and password must never cross the network in clear: not with securityMode None
    if: { properties: { securityMode: { const: 'None' } }, required: ['securityMode'] },
    then: {
      properties: {
        userIdentity: {
          properties: {
            type: { not: { const: 'username' }, description: 'no password over securityMode None' },
          },
        },
      },
    },
  },
);

export const OpcuaDriverSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Literal('opcua'),
    enabled: Type.Optional(Type.Boolean()),
    pkiDir: Type.String({
      default: 'pki/opcua',
      description: 'the PKI folder the gateway owns (relative to dataDir)',
    }),
    applicationName: Type.String({ default: 'customs-edge-gateway' }),
    servers: Type.Array(OpcuaServerSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type OpcuaDriverConfig = Static<typeof OpcuaDriverSchema>;
export type OpcuaServerConfig = Static<typeof OpcuaServerSchema>;
export type OpcuaSignalConfig = Static<typeof OpcuaSignalSchema>;
export type OpcuaOutputConfig = Static<typeof OpcuaOutputSchema>;
export type HandOffAckConfig = Static<typeof HandOffAckSchema>;
export type HandOffValue = (typeof HAND_OFF_VALUES)[number];
export type SignalKind = (typeof SIGNAL_KINDS)[number];
