/** Keys whose values are secrets: never returned by the API, never logged. */
const SECRET_KEYS = /^(password|passwordHash|secret|token|key|privateKey|passphrase)$/i;

/** A deep copy with every secret value replaced, for showing a configuration to a technician. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_KEYS.test(k) && v !== undefined && v !== null ? '[redacted]' : withoutSecrets(v);
    }
    return out;
  }
  return value;
}
