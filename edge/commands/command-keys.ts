import type { KeyObject } from 'node:crypto';
import { parsePublicKey } from '../../config/command-keys.js';
import type { CommandKeyConfig, CommandRole } from '../../config/command-security-schema.js';

/**
 * The platform public keys pinned in the gateway configuration (`uplink.commands.signing.keys`),
 * by key id. Rotation: the new key is added next to the old one (both verify), the platform
 * switches, the old one is removed (or given a `notAfter`). The keys' checks and the demo key are
 * in config/command-keys.ts.
 */

export interface PinnedKey {
  id: string;
  issuer: string;
  roles: ReadonlySet<CommandRole>;
  key: KeyObject;
  notBeforeMs: number | null;
  notAfterMs: number | null;
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
