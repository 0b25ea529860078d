import { isRecord } from './migrations.js';
import { REDACTED, SECRET_FIELD } from './secrets.js';

/**
 * Defence in depth for "no error message echoes a secret": the secret values of a resolved
 * configuration (passwords, passphrases, tokens: the SECRET_FIELD keys, except TLS key / cert / CA
 * which are file paths) and a deep copy of any report with each of them replaced. The gateway
 * passes its health (lastError texts of drivers and the uplink included) through it.
 */
export function secretValues(config: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown, key: string | null, parent: string | null) => {
    if (typeof v === 'string') {
      const isPath = parent === 'tls' && (key === 'key' || key === 'cert' || key === 'ca');
      if (key !== null && SECRET_FIELD.test(key) && !isPath && v.length >= 6) found.add(v);
      return;
    }
    if (Array.isArray(v)) v.forEach((x) => walk(x, key, parent));
    else if (isRecord(v)) for (const [k, x] of Object.entries(v)) walk(x, k, key);
  };
  walk(config, null, null);
  // longest first, so a secret containing another is replaced whole
  return [...found].sort((a, b) => b.length - a.length);
}

export function scrubSecrets<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      let out = v;
      for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (isRecord(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
