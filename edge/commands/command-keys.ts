import { createPublicKey, type KeyObject } from 'node:crypto';
import type { CommandKeyConfig, CommandRole } from '../../config/command-security-schema.js';

/**
 * The platform public keys pinned in the gateway configuration (`uplink.commands.signing.keys`),
 * by key id. Rotation: the new key is added next to the old one (both verify), the platform
 * switches, the old one is removed (or given a `notAfter`).
 */

export interface PinnedKey {
  id: string;
  issuer: string;
  roles: ReadonlySet<CommandRole>;
  key: KeyObject;
  notBeforeMs: number | null;
  notAfterMs: number | null;
}

export interface KeyIssue {
  path: string;
  message: string;
}

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
export function commandKeyIssues(keys: readonly CommandKeyConfig[], base: string): KeyIssue[] {
  const issues: KeyIssue[] = [];
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

export class KeyRing {
  private readonly keys = new Map<string, PinnedKey>();

  constructor(keys: readonly CommandKeyConfig[]) {
    for (const k of keys) {
      this.keys.set(k.id, {
        id: k.id,
        issuer: k.issuer,
        roles: new Set(k.roles),
        key: parsePublicKey(k.publicKey),
        notBeforeMs: k.notBefore !== undefined ? Date.parse(k.notBefore) : null,
        notAfterMs: k.notAfter !== undefined ? Date.parse(k.notAfter) : null,
      });
    }
  }

  get size(): number {
    return this.keys.size;
  }

  get(id: string): PinnedKey | undefined {
    return this.keys.get(id);
  }
}

/** Whether the demo key (public in this repository) is pinned. */
export function pinsDemoKey(keys: readonly CommandKeyConfig[]): boolean {
  return keys.some((k) => k.publicKey.replace(/\s/g, '') === DEMO_PUBLIC_KEY);
}
