import { Type, type Static } from 'typebox';
import { Id } from './schema-fields.js';

/**
 * Configuration section `gates`: the gate-controller process, its GPIO outputs (gates) and
 * inputs, stack light, beacon and watchdog output (part of config/schema.ts).
 */

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
    indicators: Type.Optional(
      Type.Array(
        Type.Object(
          {
            id: Id('indicator output id (inspector.alertOutputs names it)'),
            pin: Pin(),
            activeLow: Type.Boolean({ default: false }),
            safeValue: Bit('logical value in the safe state'),
          },
          { additionalProperties: false },
        ),
        {
          default: [],
          description:
            'extra lamps / buzzers driven on and off like the stack light (e.g. an inspector alert light per rule)',
        },
      ),
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

export type GatesConfig = Static<typeof GatesSchema>;
export type GateOutputConfig = Static<typeof GateOutputSchema>;
