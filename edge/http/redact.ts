/** Keys whose values are secrets: never returned by the API, never logged. */
const SECRET_KEYS = /^(password|passwordHash|secret|token|key|privateKey|passphrase)$/i;

/** Any string that parses as a URL carrying a password gets the password replaced; others unchanged. */
export function withoutUrlPassword(value: string): string {
  if (!value.includes('@')) return value;
  try {
    const u = new URL(value);
    if (!u.password) return value;
    u.password = 'redacted';
    return u.toString();
  } catch {
    return value;
  }
}

/** A deep copy with every secret value replaced, for showing a configuration to a technician. */
export function withoutSecrets(value: unknown): unknown {
  if (typeof value === 'string') return withoutUrlPassword(value);
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
