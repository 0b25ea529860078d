import { Type, type Static, type TSchema } from 'typebox';

/**
 * Commands from the central platform: `<base>/commands/<name>`, a JSON request envelope whose
 * `args` match the command's schema. Every command is answered with a CommandReply: on MQTT 5 to
 * the request's response topic with its correlation data; otherwise (MQTT 3.1.1, or no response
 * topic) to `<base>/replies/<name>`, where the request `id` correlates. These TypeBox schemas are
 * used by the router (Ajv) and by the AsyncAPI document.
 */
export const COMMAND_SCHEMA_VERSION = 1;

export const CommandRequestSchema = Type.Object(
  {
    schema: Type.Literal(COMMAND_SCHEMA_VERSION),
    id: Type.String({
      minLength: 1,
      maxLength: 128,
      description:
        'command id: the platform correlates the reply with it; a re-sent command with the same id gets the same reply and runs once',
    }),
    expiresAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'refused (EDGE_COMMAND_EXPIRED) after this',
      }),
    ),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false, $id: 'CommandRequest' },
);
export type CommandRequest = Static<typeof CommandRequestSchema>;

const OperatorId = Type.String({ minLength: 1, maxLength: 64, description: 'who asked (audit)' });

export const PingArgs = Type.Object(
  { echo: Type.Optional(Type.String({ maxLength: 256 })) },
  { additionalProperties: false },
);

export const ReplayArgs = Type.Object(
  {
    stream: Type.Union([Type.Literal('events'), Type.Literal('telemetry')], { default: 'events' }),
    fromSeq: Type.Integer({ minimum: 1 }),
    toSeq: Type.Optional(Type.Integer({ minimum: 1 })),
    maxEvents: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const ConfigGetArgs = Type.Object({}, { additionalProperties: false });

export const ConfigPutArgs = Type.Object(
  {
    config: Type.Record(Type.String(), Type.Unknown(), {
      description:
        'the complete new configuration document (validated, applied, rolled back on failure)',
    }),
    operatorId: OperatorId,
    reason: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const TargetingEntry = Type.Object(
  {
    ruleId: Type.String({ minLength: 1, maxLength: 64 }),
    waybill: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    invtNo: Type.Optional(Type.String({ minLength: 18, maxLength: 18 })),
    reason: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: true },
);

export const TargetingReplaceArgs = Type.Object(
  {
    listVersion: Type.String({ minLength: 1, maxLength: 64 }),
    entries: Type.Array(TargetingEntry, { maxItems: 500_000 }),
    operatorId: Type.Optional(OperatorId),
  },
  { additionalProperties: false },
);

export const CtDecisionArgs = Type.Object(
  {
    parcelId: Type.Optional(Type.String({ minLength: 1 })),
    waybill: Type.Optional(Type.String({ minLength: 1 })),
    reportId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description:
          "CT scan or report (image) id the decision is about; required for a clear, which is refused unless it matches the parcel's CT record",
      }),
    ),
    // further identifiers the decision names its parcel by (docs/real-line.md)
    ctItemId: Type.Optional(Type.String({ minLength: 1, description: "the CT's item id" })),
    imageId: Type.Optional(Type.String({ minLength: 1, description: 'the CT image id' })),
    plcTrackingId: Type.Optional(
      Type.String({ minLength: 1, description: "the sorter PLC's tracking id" }),
    ),
    verdict: Type.Union([Type.Literal('clear'), Type.Literal('suspect'), Type.Literal('unknown')]),
    officerId: OperatorId,
    note: Type.Optional(Type.String({ maxLength: 512 })),
  },
  {
    additionalProperties: false,
    anyOf: [
      { required: ['parcelId'] },
      { required: ['waybill'] },
      { required: ['ctItemId'] },
      { required: ['imageId'] },
      { required: ['plcTrackingId'] },
    ],
    // a clear names the evidence it clears (edge/engine/officer-evidence.ts)
    if: { properties: { verdict: { const: 'clear' } }, required: ['verdict'] },
    then: { required: ['reportId'] },
  },
);

export const GateTestArgs = Type.Object(
  {
    gateId: Type.String({ minLength: 1, maxLength: 64 }),
    pulseMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000 })),
    operatorId: OperatorId,
  },
  { additionalProperties: false },
);

/** Command name (topic segment) -> args schema. */
export const COMMAND_ARGS = {
  ping: PingArgs,
  replay: ReplayArgs,
  'config-get': ConfigGetArgs,
  'config-put': ConfigPutArgs,
  'targeting-replace': TargetingReplaceArgs,
  'ct-decision': CtDecisionArgs,
  'gate-test': GateTestArgs,
} as const satisfies Record<string, TSchema>;

export type CommandName = keyof typeof COMMAND_ARGS;
export const COMMAND_NAMES = Object.keys(COMMAND_ARGS) as CommandName[];

export type ReplayArgsT = Static<typeof ReplayArgs>;
export type ConfigPutArgsT = Static<typeof ConfigPutArgs>;
export type TargetingReplaceArgsT = Static<typeof TargetingReplaceArgs>;
export type CtDecisionArgsT = Static<typeof CtDecisionArgs>;
export type GateTestArgsT = Static<typeof GateTestArgs>;

export const CommandReplySchema = Type.Object(
  {
    schema: Type.Literal(COMMAND_SCHEMA_VERSION),
    id: Type.Union([Type.String(), Type.Null()], {
      description: 'the request id; null when the request was unreadable',
    }),
    command: Type.String(),
    ok: Type.Boolean(),
    result: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    error: Type.Optional(
      Type.Object(
        {
          code: Type.String({ description: 'an EDGE_* code, see edge/errors.ts' }),
          message: Type.String(),
          details: Type.Optional(Type.Unknown()),
        },
        { additionalProperties: false },
      ),
    ),
    time: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false, $id: 'CommandReply' },
);
export type CommandReply = Static<typeof CommandReplySchema>;
