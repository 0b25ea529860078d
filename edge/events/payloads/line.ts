import { Type } from 'typebox';
import { Closed, Count, Id, Mono, Nullable } from './common.js';

/** Payloads of the line's condition: belt state, jams, E-stops, tracking, device links. */

const LineState = Type.Union([
  Type.Literal('running'),
  Type.Literal('stopped'),
  Type.Literal('estop'),
  Type.Literal('jam'),
]);

const LineStateChange = {
  lineId: Id(),
  deviceId: Id(),
  state: LineState,
  previous: LineState,
  reason: Nullable(Type.String()),
};

const DeviceLink = Closed({
  type: Type.Literal('deviceStatus'),
  deviceId: Id(),
  atMono: Mono(),
  role: Type.Union([
    Type.Literal('scanner'),
    Type.Literal('ct'),
    Type.Literal('scale'),
    Type.Literal('plc'),
    Type.Literal('photoEye'),
    Type.Literal('gate'),
    Type.Literal('other'),
  ]),
  ok: Type.Boolean(),
  reason: Type.String(),
  lineId: Id(),
});

export const LINE_PAYLOADS = {
  'line.state': Closed(LineStateChange),
  'line.resumed': Closed({ lineId: Id(), reason: Type.String() }),
  'alarm.estop': Closed(LineStateChange),
  'alarm.jam': Closed(
    {
      lineId: Id(),
      deviceId: Id(),
      state: Type.Optional(LineState),
      previous: Type.Optional(LineState),
      reason: Type.Optional(Nullable(Type.String())),
      blockedSinceMono: Type.Optional(Nullable(Type.Number())),
    },
    'reported by the PLC (state, previous, reason) or seen at the induction photo-eye (blockedSinceMono)',
  ),
  'tracking.lost': Closed({ lineId: Id(), reason: Type.String(), parcels: Count() }),
  'tracking.restored': Closed({ lineId: Id(), parcels: Count(), snapshotAtMono: Mono() }),
  'photoeye.ignored': Closed({ deviceId: Id() }),
  'photoeye.pulse-lost': Closed({
    edge: Type.Union([Type.Literal('leading'), Type.Literal('trailing')]),
  }),
  'device.restored': DeviceLink,
  'alarm.device-lost': DeviceLink,
} as const;
