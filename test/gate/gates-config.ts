import { Ajv } from 'ajv';
import { GatesSchema, type GatesConfig } from '../../config/schema.js';

/** A `gates:` section with the schema's defaults filled in, as the config loader would. */
export function gatesConfig(partial: Record<string, unknown>): GatesConfig {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  const validate = ajv.compile(GatesSchema);
  const value: unknown = structuredClone(partial);
  if (!validate(value)) throw new Error(ajv.errorsText(validate.errors));
  return value;
}
