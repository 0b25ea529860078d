import { Type } from 'typebox';
import { Closed, Count, Id, Lane, Mono, Nullable, Severity, Verdict } from './common.js';

/** Payloads of the parcel record: induction, identity, weight, targeting, decision, divert. */

export const TargetingHit = Closed(
  {
    listVersion: Type.String(),
    entryId: Type.String(),
    match: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]),
    pattern: Type.String(),
    reason: Nullable(Type.String()),
  },
  'the targeting-list (布控) entry that matched',
);

const WeightStatus = Type.Union([
  Type.Literal('stable'),
  Type.Literal('dynamic'),
  Type.Literal('overload'),
  Type.Literal('underload'),
  Type.Literal('error'),
]);

const CodeState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('read'),
  Type.Literal('noread'),
  Type.Literal('invalid'),
  Type.Literal('conflict'),
]);

const DivertSeen = {
  deviceId: Id('lane-entry photo-eye'),
  outlet: Id('lane id: pass, exception, inspection or a customs outlet'),
  lane: Lane,
};

export const PARCEL_PAYLOADS = {
  'parcel.inducted': Closed({
    lineId: Id(),
    photoEyeId: Id(),
    deadlineMono: Mono('when the decision must be taken'),
    unknown: Nullable(Type.String({ description: 'tracking doubtful from the start: why' })),
    deviceLost: Nullable(Type.String({ description: 'a device it depends on is down: why' })),
    inductionSeq: Type.Optional(
      Type.Integer({ description: 'induction counter (a sorter key for PLCs keyed by count)' }),
    ),
  }),
  'parcel.identified': Closed({
    deviceId: Id(),
    code: Type.String(),
    deliveredAfterWindow: Type.Optional(
      Type.Boolean({ description: 'the read came after its scan window (reader latency)' }),
    ),
  }),
  'parcel.noread': Closed({
    deviceId: Nullable(Type.String()),
    code: Nullable(Type.String({ description: 'the invalid code, null for a no-read' })),
    reason: Type.Union([
      Type.Literal('no-read'),
      Type.Literal('invalid-id'),
      Type.Literal('no-read-in-window'),
    ]),
  }),
  'parcel.weighed': Closed({ deviceId: Id(), kg: Nullable(Type.Number()), status: WeightStatus }),
  'parcel.weight-missing': Closed({}),
  'parcel.decided': Closed(
    {
      lineId: Id(),
      lane: Lane,
      outlet: Id(),
      ruleId: Id('the rule that decided (tracking, ct, targeting, clear, ...)'),
      reason: Type.String(),
      code: Nullable(Type.String()),
      customsMode: Type.Optional(Nullable(Type.String({ description: '9610, 9710, 9810, 1210' }))),
      codeState: Type.Optional(CodeState),
      verdict: Type.Optional(Nullable(Verdict)),
      scanId: Type.Optional(Nullable(Type.String())),
      imageId: Type.Optional(Nullable(Type.String())),
      weightKg: Type.Optional(Nullable(Type.Number())),
      targeting: Type.Optional(Nullable(TargetingHit)),
      lengthMm: Type.Optional(Nullable(Type.Number())),
      gateId: Type.Optional(Nullable(Type.String())),
      gateMode: Type.Optional(Nullable(Type.Union([Type.Literal('gpio'), Type.Literal('plc')]))),
      fireAtMono: Type.Optional(Nullable(Type.Number())),
      slackMs: Type.Optional(
        Nullable(
          Type.Number({
            description:
              'deadline minus decision time, ms; null when the deadline is unknown (belt stopped)',
          }),
        ),
      ),
      revised: Type.Optional(
        Type.Boolean({ description: 'replaces an earlier decision for this parcel' }),
      ),
      previousLane: Type.Optional(Nullable(Lane)),
      previousRuleId: Type.Optional(Nullable(Type.String())),
    },
    'the decision; the optional fields are absent on decisions restored after a restart',
  ),
  'read.unmatched': Closed({ deviceId: Id(), code: Nullable(Type.String()) }),
  'read.duplicate': Closed({
    deviceId: Id(),
    code: Type.String(),
    firstCode: Nullable(Type.String()),
  }),
  'read.conflict': Closed({
    deviceId: Id(),
    code: Type.String(),
    firstCode: Nullable(Type.String()),
  }),
  'read.duplicate_waybill': Closed({ code: Type.String(), parcels: Type.Array(Id()) }),
  'targeting.hit': Closed({
    code: Nullable(Type.String()),
    listVersion: Type.String(),
    entryId: Type.String(),
    match: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]),
    pattern: Type.String(),
    reason: Nullable(Type.String()),
  }),
  'targeting.replaced': Closed({ version: Type.String(), entries: Count(), source: Type.String() }),
  'weight.unmatched': Closed({
    type: Type.Literal('weight'),
    deviceId: Id(),
    atMono: Mono(),
    kg: Nullable(Type.Number()),
    status: WeightStatus,
  }),
  'divert.confirmed': Closed(DivertSeen),
  'divert.unmatched': Closed(DivertSeen),
  'alarm.divert-unmatched': Closed(DivertSeen),
  'alarm.missort': Closed({
    ...DivertSeen,
    expectedOutlet: Nullable(Type.String()),
    expectedLane: Nullable(Lane),
    severity: Severity,
  }),
  'alarm.divert-missed': Closed({ outlet: Id(), fireAtMono: Nullable(Type.Number()) }),
  'alarm.divert-unconfirmed': Closed({ outlet: Type.Optional(Id()), lane: Type.Optional(Lane) }),
  'alarm.after-divert': Closed({
    reason: Type.String(),
    lane: Type.Optional(Lane),
    outlet: Id(),
    severity: Severity,
  }),
  'alarm.failsafe-guard': Closed({ rule: Type.String(), lane: Lane, violation: Type.String() }),
} as const;
