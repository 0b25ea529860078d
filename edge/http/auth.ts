import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { HttpUser, Role } from '../../config/schema.js';

/**
 * HTTP users and roles. Passwords live only as scrypt hashes in memory (a plain `password` from
 * the config, usually ${env:...}, is hashed at load, off the event loop). scrypt always runs in
 * libuv's thread pool (crypto.scrypt), at most two at a time, so a burst of logins never stalls
 * the loop. Basic credentials that verified are cached by their SHA-256 for a few minutes so
 * scrypt is not paid on every API request.
 */

export const ROLE_RANK: Record<Role, number> = { viewer: 0, inspector: 1, technician: 2, admin: 3 };
export const ROLES: readonly Role[] = ['viewer', 'inspector', 'technician', 'admin'];

const KEY_LENGTH = 32;

interface StoredUser {
  name: string;
  role: Role;
  salt: Buffer;
  hash: Promise<Buffer>;
}

export interface Principal {
  name: string;
  role: Role;
}

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$<salt hex>$<hash hex>`, the form `passwordHash` takes in the configuration. */
export async function hashPassword(password: string, salt = randomBytes(16)): Promise<string> {
  return `scrypt$${salt.toString('hex')}$${(await scryptAsync(password, salt)).toString('hex')}`;
}

/** At most `limit` scrypt computations at once; the rest wait (bounded by the login throttle). */
class Gate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

export class UserDirectory {
  private readonly users = new Map<string, StoredUser>();
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  private readonly scryptGate = new Gate(2);

  constructor(
    users: readonly HttpUser[],
    private readonly nowMs: () => number = Date.now,
  ) {
    for (const u of users) {
      let salt: Buffer;
      let hash: Promise<Buffer>;
      if (u.passwordHash) {
        const [, s, h] = u.passwordHash.split('$');
        salt = Buffer.from(s ?? '', 'hex');
        hash = Promise.resolve(Buffer.from(h ?? '', 'hex'));
      } else if (u.password) {
        salt = randomBytes(16);
        // hashed in the thread pool; the plain text is dropped once the hash exists
        hash = scryptAsync(u.password, salt);
      } else {
        continue; // a user without any secret can never log in
      }
      hash.catch(() => undefined);
      this.users.set(u.name, { name: u.name, role: u.role, salt, hash });
    }
  }

  get size(): number {
    return this.users.size;
  }

  /** The role a user has now (null: no such user); sessions are re-checked against it. */
  roleOf(name: string): Role | null {
    return this.users.get(name)?.role ?? null;
  }

  private cacheKey(name: string, password: string): string {
    return createHash('sha256').update(`${name}\0${password}`).digest('hex');
  }

  /** A credential verified in the last minutes (no scrypt needed), or null. */
  cached(name: string, password: string): Principal | null {
    const cached = this.cache.get(this.cacheKey(name, password));
    if (!cached || cached.until <= this.nowMs()) return null;
    // the user may have been removed or changed role by a configuration change
    return this.roleOf(name) === cached.principal.role ? cached.principal : null;
  }

  async verify(name: string, password: string): Promise<Principal | null> {
    const hit = this.cached(name, password);
    if (hit) return hit;
    const user = this.users.get(name);
    // hash anyway for an unknown user so timing does not tell which names exist
    const salt = user?.salt ?? Buffer.alloc(16);
    const candidate = await this.scryptGate.run(() => scryptAsync(password, salt));
    const stored = user ? await user.hash.catch(() => null) : null;
    if (!user || !stored || stored.length !== candidate.length) return null;
    if (!timingSafeEqual(stored, candidate)) return null;
    const principal = { name: user.name, role: user.role };
    this.cache.set(this.cacheKey(name, password), {
      principal,
      until: this.nowMs() + 5 * 60_000,
    });
    if (this.cache.size > 1000) this.cache.clear();
    return principal;
  }
}

/** `Authorization: Basic ...` as name and password, or null. */
export function parseBasic(header: string | undefined): { name: string; password: string } | null {
  if (!header?.startsWith('Basic ')) return null;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function allows(principal: Principal, minimum: Role): boolean {
  return ROLE_RANK[principal.role] >= ROLE_RANK[minimum];
}
