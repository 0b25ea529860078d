import { Type, type Static } from 'typebox';
import { DEFAULT_RULE_ORDER, RULE_IDS } from '../edge/engine/types.js';
import { Id, Mm, Ms } from './schema-fields.js';

/**
 * Configuration section `line`: belt geometry and tracking, device windows, decision timing,
 * lanes and outlets, and the rules (part of config/schema.ts).
 */

const GateMode = Type.Union([Type.Literal('gpio'), Type.Literal('plc')], {
  default: 'gpio',
  description:
    'gpio: the gateway times the gate output; plc: the decision is handed to a sorter PLC that fires its own diverter',
});
const PlcHandOff = Type.Object(
  {
    plcId: Id('the OPC UA server (sorter PLC) that receives the decision'),
    destination: Type.Union([Type.Integer(), Type.String({ minLength: 1, maxLength: 64 })], {
      description:
        "the PLC's destination code of this lane (a number, or a string for a PLC that takes strings); sent in the PLC's data type",
    }),
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
    plcTracking: Type.Optional(
      Type.Object(
        {
          positionMm: Type.Number({
            default: 0,
            description: 'where the sorter PLC gives a parcel its tracking id (0: induction)',
          }),
          toleranceMm: Mm('match tolerance'),
        },
        { additionalProperties: false },
      ),
    ),
    handOffEveryParcel: Type.Boolean({
      default: true,
      description:
        'with PLC lanes: every parcel is handed to the PLC, inspection included (lanes.inspection needs plc), so safety never rests on the PLC default destination',
    }),
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
    minGapMm: Type.Number({
      exclusiveMinimum: 0,
      default: 100,
      description:
        'smallest gap between two parcels the infeed guarantees; a gate fired up to gates.maxLateMs late must not reach the next parcel (maxLateMs x max speed <= minGapMm)',
    }),
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

export type LineConfig = Static<typeof LineSchema>;
