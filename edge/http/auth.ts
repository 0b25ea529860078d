import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { HttpUser, Role } from '../../config/schema.js';

/**
 * HTTP users and roles. Passwords live only as scrypt hashes in memory (a plain `password` from
 * the config, usually ${env:...}, is hashed at load). Basic credentials that verified are cached
 * by their SHA-256 for a few minutes so scrypt is not paid on every request.
 */

export const ROLE_RANK: Record<Role, number> = { viewer: 0, inspector: 1, technician: 2, admin: 3 };

interface StoredUser {
  name: string;
  role: Role;
  salt: Buffer;
  hash: Buffer;
}

export interface Principal {
  name: string;
  role: Role;
}

export function hashPassword(password: string, salt = randomBytes(16)): string {
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, 32).toString('hex')}`;
}

export class UserDirectory {
  private readonly users = new Map<string, StoredUser>();
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(
    users: readonly HttpUser[],
    private readonly nowMs: () => number = Date.now,
  ) {
    for (const u of users) {
      const encoded = u.passwordHash ?? (u.password ? hashPassword(u.password) : null);
      if (!encoded) continue; // a user without any secret can never log in
      const [, salt, hash] = encoded.split('$');
      this.users.set(u.name, {
        name: u.name,
        role: u.role,
        salt: Buffer.from(salt ?? '', 'hex'),
        hash: Buffer.from(hash ?? '', 'hex'),
      });
    }
  }

  get size(): number {
    return this.users.size;
  }

  verify(name: string, password: string): Principal | null {
    const key = createHash('sha256').update(`${name}\0${password}`).digest('hex');
    const cached = this.cache.get(key);
    if (cached && cached.until > this.nowMs()) return cached.principal;
    const user = this.users.get(name);
    // hash anyway for an unknown user so timing does not tell which names exist
    const salt = user?.salt ?? Buffer.alloc(16);
    const candidate = scryptSync(password, salt, 32);
    if (!user || user.hash.length !== candidate.length || !timingSafeEqual(user.hash, candidate))
      return null;
    const principal = { name: user.name, role: user.role };
    this.cache.set(key, { principal, until: this.nowMs() + 5 * 60_000 });
    if (this.cache.size > 1000) this.cache.clear();
    return principal;
  }

  /** Parse an `Authorization: Basic ...` header. */
  verifyBasic(header: string | undefined): Principal | null {
    if (!header?.startsWith('Basic ')) return null;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    return this.verify(decoded.slice(0, colon), decoded.slice(colon + 1));
  }
}

export function allows(principal: Principal, minimum: Role): boolean {
  return ROLE_RANK[principal.role] >= ROLE_RANK[minimum];
}
