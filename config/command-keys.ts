import { createPublicKey, type KeyObject } from 'node:crypto';
import type { CommandKeyConfig } from './command-security-schema.js';
import type { ConfigIssue } from './secrets.js';

/**
 * Checks of the platform public keys pinned in the configuration (`uplink.commands.signing.keys`):
 * the configuration's cross-checks (config/safety-bounds.ts) and the gateway's key ring
 * (edge/commands/command-keys.ts) read them the same way.
 */

/**
 * The demo key shipped with the examples (config/examples/demo-command-key.pem holds its
 * PRIVATE half, in the repository for everyone): a gateway that pins it logs a warning.
 */
export const DEMO_PUBLIC_KEY = 'MCowBQYDK2VwAyEAQHgAdPA31ZttLScSztxRORxfaz8LO2NV8ljckO5BQ/Q=';

/** An Ed25519 public key from base64 SPKI DER or PEM; throws with a message naming no key bytes. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    key = trimmed.startsWith('-----BEGIN')
      ? createPublicKey(trimmed)
      : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new Error('not a public key (base64 SPKI DER or PEM expected)');
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`an Ed25519 key is required, this is ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** Problems with the configured keys (for the configuration's cross-checks). */
export function commandKeyIssues(keys: readonly CommandKeyConfig[], base: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const ids = new Set<string>();
  keys.forEach((k, i) => {
    const path = `${base}/${i}`;
    if (ids.has(k.id)) issues.push({ path: `${path}/id`, message: `duplicate key id '${k.id}'` });
    ids.add(k.id);
    try {
      parsePublicKey(k.publicKey);
    } catch (err) {
      issues.push({ path: `${path}/publicKey`, message: (err as Error).message });
    }
    for (const field of ['notBefore', 'notAfter'] as const) {
      const v = k[field];
      if (v !== undefined && Number.isNaN(Date.parse(v)))
        issues.push({ path: `${path}/${field}`, message: 'must be an ISO date-time' });
    }
  });
  return issues;
}

/** Whether the demo key (public in this repository) is pinned. */
export function pinsDemoKey(keys: readonly CommandKeyConfig[]): boolean {
  return keys.some((k) => k.publicKey.replace(/\s/g, '') === DEMO_PUBLIC_KEY);
}
