import { Type, type Static } from 'typebox';

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
    invert: Type.Boolean({ default: false, description: 'photoEye: true means beam clear' }),
    scale: Type.Number({ default: 1, description: 'beltSpeed: multiply to get mm/s' }),
    lifeBitTimeoutMs: Type.Integer({ minimum: 100, default: 3000 }),
    role: Type.Optional(Type.Enum(DEVICE_ROLES)),
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
    trackingIdNodeId: Type.Optional(Type.String({ description: 'decision by writes' })),
    laneNodeId: Type.Optional(Type.String({ description: 'decision by writes' })),
    strobeNodeId: Type.Optional(Type.String({ description: 'decision by writes: toggled last' })),
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
export type SignalKind = (typeof SIGNAL_KINDS)[number];
