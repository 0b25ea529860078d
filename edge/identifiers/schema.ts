import { Type } from 'typebox';

/**
 * Configuration of identifier validation (edge/identifiers/carriers.ts), the same for every
 * source that reads waybills: a serial barcode scanner, an OPC UA (AutoID) reader.
 */
const identifierFields = {
  s10: Type.Boolean({
    default: true,
    description: 'accept UPU S10 identifiers whose check digit is right (a wrong one is a misread)',
  }),
  carriers: Type.Array(
    Type.Object(
      { name: Type.String({ minLength: 1 }), pattern: Type.String({ minLength: 1 }) },
      { additionalProperties: false },
    ),
    { default: [], description: 'carrier waybill patterns (regular expressions, whole code)' },
  ),
  acceptUnmatched: Type.Boolean({
    default: false,
    description: 'accept a code no rule recognises (only where the site has no known formats)',
  }),
};

/** With every default filled in (a serial barcode scanner's `identifiers`). */
export const IdentifiersSchema = Type.Object(identifierFields, {
  additionalProperties: false,
  default: {},
});

/** The same without a default of its own (an optional field of a signal of any kind). */
export const OptionalIdentifiersSchema = Type.Object(identifierFields, {
  additionalProperties: false,
});
