import { Type, type Static, type TSchema } from 'typebox';
import { DEFAULT_RULE_ORDER, RULE_IDS } from '../edge/engine/types.js';

/**
 * The gateway configuration: one TypeBox source gives the TypeScript types and the JSON Schema
 * (Ajv validates with allErrors). Driver entries are validated in two steps: the common part
 * here, then the driver kind's own schema (see config/driver-kinds.ts).
 */

export const CONFIG_VERSION = 1;

const Id = (description: string) =>
  Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description });
const Mm = (description: string) => Type.Number({ minimum: 0, description });
const Ms = (description: string, minimum = 0) => Type.Number({ minimum, description });

export const Role = Type.Union([
  Type.Literal('viewer'),
  Type.Literal('inspector'),
  Type.Literal('technician'),
  Type.Literal('admin'),
]);
export type Role = Static<typeof Role>;

export const HttpUserSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    role: Role,
    password: Type.Optional(
      Type.String({
        minLength: 8,
        description: 'plain secret, usually ${env:NAME} or ${file:PATH}',
      }),
    ),
    passwordHash: Type.Optional(
      Type.String({ pattern: '^scrypt\\$', description: 'scrypt$<salt hex>$<hash hex>' }),
    ),
  },
  { additionalProperties: false },
);

const GateMode = Type.Union([Type.Literal('gpio'), Type.Literal('plc')], {
  default: 'gpio',
  description:
    'gpio: the gateway times the gate output; plc: the decision is handed to a sorter PLC that fires its own diverter',
});
const PlcHandOff = Type.Object(
  {
    plcId: Id('the PLC driver that receives the decision'),
    destination: Type.Integer({ minimum: 0, description: 'vendor destination number' }),
  },
  { additionalProperties: false },
);
const laneFields = {
  gate: Type.Optional(
    Id('the gate output (gpio) or PLC diverter (plc) that diverts into this lane'),
  ),
  positionMm: Mm('distance from the induction photo-eye to the diverter'),
  gateMode: Type.Optional(GateMode),
  plc: Type.Optional(PlcHandOff),
  confirmPhotoEye: Type.Optional(Id('lane-entry photo-eye confirming the divert')),
};

export const LaneSchema = Type.Object(laneFields, { additionalProperties: false });

const RuleIdSchema = Type.Union(RULE_IDS.map((r) => Type.Literal(r)));
const DeviceWindow = (what: string) =>
  Type.Object(
    {
      positionMm: Mm(`${what} position`),
      toleranceMm: Mm('match tolerance'),
      deviceId: Type.Optional(Id(`${what} device id (its link status is watched)`)),
    },
    { additionalProperties: false },
  );

export const LineSchema = Type.Object(
  {
    id: Id('line id'),
    beltSpeedMmPerS: Type.Number({ exclusiveMinimum: 0, maximum: 5000 }),
    inductionPhotoEye: Id('device id of the infeed photo-eye'),
    defaultParcelLengthMm: Type.Number({ exclusiveMinimum: 0, default: 400 }),
    tracking: Type.Object(
      {
        mode: Type.Union([Type.Literal('time'), Type.Literal('encoder')], { default: 'time' }),
        encoderId: Type.Optional(Id('encoder input or PLC position (encoder mode)')),
        mmPerCount: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
        encoderStaleMs: Type.Integer({ minimum: 20, maximum: 10_000, default: 500 }),
        maxSpeedMmPerS: Type.Optional(
          Type.Number({
            exclusiveMinimum: 0,
            maximum: 5000,
            description:
              'fastest the belt may run (default beltSpeedMmPerS): deadlines are checked at it',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    scanner: DeviceWindow('barcode scanner'),
    ct: Type.Object(
      {
        positionMm: Mm('CT tunnel position'),
        toleranceMm: Mm('match tolerance'),
        deviceId: Type.Optional(Id('CT device id (its life bit is watched)')),
        verdictTimeMs: Type.Number({
          minimum: 0,
          default: 0,
          description: 'time the CT (machine + officer review) needs for a verdict after the scan',
        }),
      },
      { additionalProperties: false },
    ),
    scale: Type.Optional(DeviceWindow('checkweigher')),
    decision: Type.Object(
      {
        actuationLeadMs: Ms('gate fires this long before the parcel reaches it'),
        marginMs: Ms('safety margin before the last moment a decision can be used'),
      },
      { additionalProperties: false },
    ),
    lanes: Type.Object(
      { inspection: LaneSchema, exception: LaneSchema, pass: LaneSchema },
      { additionalProperties: false },
    ),
    outlets: Type.Array(
      Type.Object(
        { id: Id('outlet id (a pass lane for one customs mode)'), ...laneFields },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    rules: Type.Object(
      {
        order: Type.Array(RuleIdSchema, {
          default: [...DEFAULT_RULE_ORDER],
          description: 'evaluation order; the safety rules are required and come first',
        }),
        noReadLane: Type.Union([Type.Literal('exception'), Type.Literal('inspection')], {
          default: 'exception',
        }),
        weight: Type.Optional(
          Type.Object(
            {
              minKg: Type.Number({ minimum: 0 }),
              maxKg: Type.Number({ exclusiveMinimum: 0 }),
              lane: Type.Union([Type.Literal('exception'), Type.Literal('inspection')], {
                default: 'exception',
              }),
            },
            { additionalProperties: false },
          ),
        ),
        customsModes: Type.Array(
          Type.Object(
            {
              mode: Type.Union(['9610', '9710', '9810', '1210'].map((m) => Type.Literal(m))),
              pattern: Type.String({
                minLength: 1,
                description: 'regular expression on the waybill',
              }),
              outlet: Type.Optional(Id('outlet id; default the pass lane')),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
        requireCustomsMode: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    jamTimeoutMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 3000 }),
    divertConfirmWindowMm: Type.Number({ minimum: 0, default: 300 }),
    gateCommandLeadMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
    stateFile: Type.String({
      default: 'line-state.sqlite',
      description: 'targeting list and tracking snapshot (relative to dataDir)',
    }),
  },
  { additionalProperties: false },
);

const Pin = (description = 'BCM pin number (the chip base is added on kernels >= 6.6)') =>
  Type.Integer({ minimum: 0, maximum: 53, description });
const Bit = (description: string, value: 0 | 1 = 0) =>
  Type.Union([Type.Literal(0), Type.Literal(1)], { default: value, description });

export const GateOutputSchema = Type.Object(
  {
    id: Id('output id, referenced by lanes'),
    pin: Pin(),
    activeLow: Type.Boolean({ default: false }),
    mode: Type.Union(
      [Type.Literal('pulse'), Type.Literal('hold'), Type.Literal('hold-while-present')],
      {
        default: 'pulse',
        description:
          'pulse: active for pulseMs; hold: active until released (at most maxHoldMs); hold-while-present: active until presenceInput clears (at most maxHoldMs)',
      },
    ),
    pulseMs: Type.Integer({ minimum: 1, maximum: 10_000, default: 300 }),
    maxHoldMs: Type.Integer({ minimum: 1, maximum: 60_000, default: 5000 }),
    presenceInput: Type.Optional(Id('photoEye input that sees the parcel at this gate')),
    safeValue: Bit('logical value in the safe state (0 = not diverting)'),
  },
  { additionalProperties: false },
);

export const GateInputSchema = Type.Object(
  {
    id: Id('input id: the deviceId of the signals it produces'),
    pin: Pin(),
    role: Type.Union(
      [
        Type.Literal('photoEye'),
        Type.Literal('laneConfirm'),
        Type.Literal('estop'),
        Type.Literal('running'),
        Type.Literal('maintenance'),
        Type.Literal('encoder'),
      ],
      { description: 'what the input means; estop goes safe in the controller itself' },
    ),
    activeLow: Type.Boolean({
      default: false,
      description: 'true when the wire is low while active (NC E-stop chains, NPN sensors)',
    }),
    debounceMs: Type.Number({ minimum: 0, maximum: 1000, default: 2 }),
    lane: Type.Optional(
      Type.Union([Type.Literal('inspection'), Type.Literal('exception'), Type.Literal('pass')]),
    ),
    reportIntervalMs: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 20,
      description: 'encoder: the count is sent to the gateway at most this often',
    }),
  },
  { additionalProperties: false },
);

export const LampSchema = Type.Object(
  {
    pin: Pin(),
    activeLow: Type.Boolean({ default: false }),
    safeValue: Bit('logical value in the safe state'),
  },
  { additionalProperties: false },
);

export const GatesSchema = Type.Object(
  {
    binding: Type.Union([Type.Literal('simulated'), Type.Literal('onoff')], {
      default: 'simulated',
    }),
    sysfsRoot: Type.String({ default: '/sys/class/gpio' }),
    chipLabel: Type.Optional(
      Type.String({ description: 'GPIO chip label to use instead of the pinctrl-* autodetect' }),
    ),
    heartbeatIntervalMs: Type.Integer({ minimum: 20, maximum: 5000, default: 200 }),
    safeStateAfterMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 1000 }),
    spinBeforeMs: Type.Number({ minimum: 0, maximum: 20, default: 2 }),
    maxLateMs: Type.Integer({
      minimum: 1,
      maximum: 5000,
      default: 50,
      description: 'a gate command this late is refused (the parcel goes straight on)',
    }),
    controllerNice: Type.Integer({ minimum: -20, maximum: 19, default: -5 }),
    realtimePriority: Type.Integer({
      minimum: 0,
      maximum: 99,
      default: 50,
      description:
        'run the gate-controller process SCHED_FIFO at this priority (chrt; needs CAP_SYS_NICE or root, else it falls back to controllerNice and says so in health); 0 = off',
    }),
    outputs: Type.Array(GateOutputSchema, { default: [] }),
    inputs: Type.Array(GateInputSchema, { default: [] }),
    stackLight: Type.Object(
      {
        green: Type.Optional(LampSchema),
        red: Type.Optional(LampSchema),
        amber: Type.Optional(LampSchema),
        white: Type.Optional(LampSchema),
        blue: Type.Optional(LampSchema),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'green cleared, red alarmed, amber unknown, white communication error, blue fail-safe mode',
      },
    ),
    beacon: Type.Optional(
      Type.Object(
        {
          pin: Pin(),
          activeLow: Type.Boolean({ default: false }),
          safeValue: Bit('logical value in the safe state', 1),
          flashMs: Type.Integer({ minimum: 0, maximum: 5000, default: 500 }),
        },
        { additionalProperties: false },
      ),
    ),
    watchdogOutput: Type.Optional(
      Type.Object(
        {
          pin: Pin(),
          activeLow: Type.Boolean({ default: false }),
          toggleMs: Type.Integer({ minimum: 5, maximum: 1000, default: 50 }),
        },
        {
          additionalProperties: false,
          description:
            'toggles while the controller is armed; an external retriggerable relay cuts gate power when it stops',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const UplinkTlsSchema = Type.Object(
  {
    ca: Type.Optional(
      Type.String({ description: 'PEM file of the CA(s) that sign the broker certificate' }),
    ),
    cert: Type.Optional(Type.String({ description: 'PEM client certificate file (mTLS)' })),
    key: Type.Optional(
      Type.String({ description: 'PEM private key file of the client certificate' }),
    ),
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

export const UplinkSchema = Type.Object(
  {
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
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    version: Type.Literal(CONFIG_VERSION),
    gateway: Type.Object(
      { id: Id('gateway id, also the MQTT client id'), site: Id('site id') },
      { additionalProperties: false },
    ),
    dataDir: Type.String({ default: './data' }),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) =>
            Type.Literal(l),
          ),
          { default: 'info' },
        ),
        pretty: Type.Union([Type.Literal('auto'), Type.Boolean()], { default: 'auto' }),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        users: Type.Array(HttpUserSchema, { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
    embeddedBroker: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 1883 }),
      },
      { additionalProperties: false, default: {} },
    ),
    uplink: UplinkSchema,
    outbox: Type.Object(
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
            'disk quota for stored events; delivered rows go first, then pending rows by priority',
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
    ),
    line: LineSchema,
    gates: GatesSchema,
    drivers: Type.Array(
      Type.Object(
        {
          id: Id('driver id'),
          kind: Type.String({ minLength: 1 }),
          enabled: Type.Boolean({ default: true }),
        },
        { additionalProperties: true },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof ConfigSchema>;
export type LineConfig = Static<typeof LineSchema>;
export type GatesConfig = Static<typeof GatesSchema>;
export type GateOutputConfig = Static<typeof GateOutputSchema>;
export type UplinkConfig = Static<typeof UplinkSchema>;
export type HttpUser = Static<typeof HttpUserSchema>;

export interface DriverKindSchema {
  kind: string;
  schema: TSchema;
}
