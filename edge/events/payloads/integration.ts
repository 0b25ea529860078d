import { Type, type TSchema } from 'typebox';

/**
 * Payloads of the real-line integration events (identifier correlation, sorter hand-off) and
 * inspector acknowledgements. These are OPEN schemas for now: the fields named here are always
 * there, more may be (see docs/real-line.md and docs/inspector.md). Closing them is a minor
 * schema change (docs/platform.md): consumers must already ignore unknown fields.
 */
const Open = (description: string, required: Record<string, TSchema> = {}) =>
  Type.Object(required, { additionalProperties: true, description });

const Str = Type.String();

export const INTEGRATION_PAYLOADS = {
  'parcel.id_unmatched': Open('an identifier read at a device matched no tracked parcel'),
  'parcel.id_conflict': Open('an identifier contradicts the ones the parcel already carries'),
  'parcel.id_reused': Open('an identifier already carried by another tracked parcel'),
  'parcel.tagged': Open('the parcel learned an identifier (alias)'),
  'alarm.escaped': Open(
    'a suspect verdict arrived after the point of no return: intercept downstream',
    { severity: Str },
  ),
  'alarm.ct-unmatched': Open('a CT verdict matched no tracked parcel', { severity: Str }),
  'alarm.ct-ambiguous': Open('a CT verdict matched more than one parcel', { severity: Str }),
  'ct.ambiguous': Open('a CT verdict matched more than one parcel: attached to none'),
  'ct.position_mismatch': Open('identifier and position name different parcels: identifier wins'),
  'alarm.ct-position-mismatch': Open('identifier and position disagreed', { severity: Str }),
  'ct.identifier_conflict': Open('the verdict names parcels known by other identifiers'),
  'alarm.ct-identifier-conflict': Open('a verdict contradicted tracked identifiers', {
    severity: Str,
  }),
  'ct.after_departure': Open('a verdict for a parcel that already left the line'),
  'inspector.alert_acknowledged': Open('an officer acknowledged an alert'),
  'alarm.untracked-parcel': Open(
    'the sorter PLC tracks a parcel the gateway does not: handed to the PLC for inspection, or (when that failed) it follows the PLC default',
    { severity: Str, plcTracking: Str, handedToInspection: Type.Boolean() },
  ),
  'plc.handoff_late': Open('a sorter hand-off was acknowledged after its deadline'),
  'alarm.plc-handoff-late': Open('a sorter hand-off came late', { severity: Str }),
  'plc.handoff_retry': Open('a sorter hand-off is sent again'),
  'alarm.plc-handoff-unacked': Open('the sorter PLC did not acknowledge a hand-off', {
    severity: Str,
  }),
} as const satisfies Record<string, TSchema>;
