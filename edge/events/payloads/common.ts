import { Type, type TSchema } from 'typebox';

/** Building blocks shared by the event payload schemas (see ./index.ts). */

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Lane = Type.Union(
  [Type.Literal('inspection'), Type.Literal('exception'), Type.Literal('pass')],
  { description: 'inspection (straight through), exception (no-read lane) or pass' },
);
export const Verdict = Type.Union([
  Type.Literal('clear'),
  Type.Literal('suspect'),
  Type.Literal('unknown'),
]);
export const Mono = (description = 'monotonic time on the gateway, ms') =>
  Type.Number({ description });
export const Id = (description?: string) =>
  Type.String(description ? { minLength: 1, description } : { minLength: 1 });
export const Count = (description?: string) =>
  Type.Integer(description ? { minimum: 0, description } : { minimum: 0 });
export const Severity = Type.Union([Type.Literal('critical'), Type.Literal('major')]);

/** A closed object: an unexpected field is a contract change (see docs/platform.md). */
export const Closed = <P extends Record<string, TSchema>>(properties: P, description?: string) =>
  Type.Object(
    properties,
    description ? { additionalProperties: false, description } : { additionalProperties: false },
  );
