import { Type, type Static } from 'typebox';
import { Role } from './http-schema.js';

/**
 * Configuration section `inspector`: the inspector workstation (docs/inspector.md): the queue of
 * parcels an officer must act on, the CT image viewer link, claims, alerts and history.
 */

/** Why a parcel is in the inspector's queue (stable codes; the UI translates them). */
export const FLAG_REASONS = [
  'ct-suspect',
  'ct-unknown',
  'targeting',
  'verdict-missing',
  'verdict-late',
  'escaped',
  'device-lost',
  'tracking',
  'fail-safe',
  'no-read',
  'other',
] as const;
export type FlagReason = (typeof FLAG_REASONS)[number];

const Reason = Type.Unsafe<FlagReason>(Type.Union(FLAG_REASONS.map((r) => Type.Literal(r))));

export const InspectorSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    storeFile: Type.String({
      default: 'inspector.sqlite',
      description: 'SQLite file under dataDir: queue, decisions, parcel index',
    }),
    imageUrlTemplate: Type.Optional(
      Type.String({
        pattern: '^https?://[^\\s]+$',
        maxLength: 500,
        description:
          "the CT vendor's image viewer; {imageId}, {scanId}, {parcelId} and {waybill} are replaced by the URL-encoded values, e.g. https://ct.local/view?img={imageId}",
      }),
    ),
    decisionRoles: Type.Array(Role, {
      minItems: 1,
      default: ['inspector'],
      description:
        'roles that may open, acknowledge and decide parcels (the queue is readable from inspector up); customs decisions are not a technician task',
    }),
    claimTtlS: Type.Integer({
      minimum: 10,
      maximum: 3600,
      default: 120,
      description: 'an officer who opened a parcel holds it this long unless the page renews it',
    }),
    alertReasons: Type.Array(Reason, {
      default: ['ct-suspect', 'targeting', 'escaped'],
      description: 'a new queue entry with one of these reasons raises an alert (sound + visual)',
    }),
    alertOutputs: Type.Array(
      Type.Object(
        {
          output: Type.String({
            pattern: '^[a-z0-9][a-z0-9_-]{0,62}$',
            description: "'beacon' or the id of a gates.indicators output",
          }),
          reasons: Type.Array(Reason, { minItems: 1 }),
        },
        { additionalProperties: false },
      ),
      {
        default: [],
        description: 'outputs held on while an alert with one of these reasons is not acknowledged',
      },
    ),
    historyDays: Type.Integer({
      minimum: 1,
      maximum: 3650,
      default: 90,
      description: 'queue entries and decisions are kept this long (shift reports, search)',
    }),
    catchUpMaxEvents: Type.Integer({
      minimum: 0,
      maximum: 10_000_000,
      default: 200_000,
      description:
        'on start, at most this many stored events after the last one seen are read into the queue',
    }),
  },
  { additionalProperties: false, default: {} },
);

export type InspectorConfig = Static<typeof InspectorSchema>;
