import type { ValidateFunction } from 'ajv';

/**
 * Validators for the configuration schema and the driver kinds' schemas, compiled ahead of time.
 * This module is null in development and tests (ConfigValidator compiles with Ajv); the
 * production bundle (provisioning/bundle.ts) replaces it with Ajv standalone code generated from
 * the same schemas at build time (provisioning/config-validators.ts): the same checks without
 * ~0.25 s of compiling at every start (~0.7 s on a Raspberry Pi core).
 */
export interface PrecompiledConfigValidators {
  root: ValidateFunction;
  /** driver kind -> validator of that kind's entry */
  kinds: Record<string, ValidateFunction>;
}

export const PRECOMPILED_CONFIG_VALIDATORS: PrecompiledConfigValidators | null = null;
