import { Type } from 'typebox';

/** Field builders shared by the configuration sections (config/schema.ts and its parts). */

export const Id = (description: string) =>
  Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description });
export const Mm = (description: string) => Type.Number({ minimum: 0, description });
export const Ms = (description: string, minimum = 0) => Type.Number({ minimum, description });
/**
 * A file path (TLS certificate, key, CA), never the secret itself: no line breaks (PEM text) and
 * no `${env:}` / `${file:}` reference, so an error about the file can name it without echoing a
 * secret.
 */
export const PemPath = (description: string) =>
  Type.String({ minLength: 1, maxLength: 1024, pattern: '^[^\\n\\r$]+$', description });
