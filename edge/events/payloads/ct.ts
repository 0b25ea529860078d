import { Type } from 'typebox';
import { Closed, Id, Lane, Mono, Nullable, Verdict } from './common.js';

/** Payloads of CT verdicts (machine and officer). */

const CtVerdictFields = {
  deviceId: Id(),
  verdict: Verdict,
  scanId: Id("the scanner's id of the scan"),
  imageId: Nullable(Type.String({ description: 'image / report id on the vendor image server' })),
  scannedAtMono: Nullable(Mono('when the parcel was in the tunnel; null when the CT sent none')),
  ids: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description:
        'identifiers the verdict carries (waybill, ctItem, plcTracking, image, induction), by which it was placed',
    }),
  ),
  placedBy: Type.Optional(
    Nullable(Type.String({ description: 'identifier kind or position by which it was placed' })),
  ),
  reason: Type.Optional(Type.String({ description: 'why it was not placed, or what disagreed' })),
  waybill: Type.Optional(Nullable(Type.String())),
  confidence: Type.Optional(Nullable(Type.Number())),
  operator: Type.Optional(Nullable(Type.String())),
  note: Type.Optional(Type.String({ description: 'why the verdict was changed on the way in' })),
};

export const CT_PAYLOADS = {
  'ct.verdict': Closed({
    ...CtVerdictFields,
    afterDecision: Type.Boolean({ description: 'arrived after the parcel was decided' }),
    learned: Type.Optional(
      Type.Array(Type.String(), { description: 'identifier kinds the parcel learned from it' }),
    ),
    decidedLane: Nullable(Lane),
  }),
  'ct.unmatched': Closed(CtVerdictFields),
  'ct.duplicate': Closed(CtVerdictFields),
  'ct.conflict': Closed(CtVerdictFields),
  'ct.verdict_revised': Closed({
    ...CtVerdictFields,
    previous: Verdict,
    applied: Type.Boolean({ description: 'the stricter verdict stands' }),
  }),
  'ct.officer_verdict': Closed({
    officerId: Id(),
    verdict: Verdict,
    reportId: Nullable(Type.String()),
    requestedParcelId: Nullable(Type.String()),
    waybill: Nullable(Type.String()),
    ids: CtVerdictFields.ids,
    applied: Type.Boolean(),
    reason: Type.String(),
    evidence: Type.Optional(
      Type.Union(
        [
          Type.Literal('matched'),
          Type.Literal('missing'),
          Type.Literal('mismatch'),
          Type.Literal('no-record'),
        ],
        {
          description:
            'a clear is bound to the CT scan / report id it names: matched, or why it was not applied (docs/security.md)',
        },
      ),
    ),
    decidedLane: Type.Optional(Nullable(Lane)),
  }),
} as const;
