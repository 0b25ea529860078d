import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../../config/schema.js';
import type { Principal } from './auth.js';

/**
 * Browser sessions and the login throttle. They live in `HttpState`, which the gateway host
 * keeps across the HTTP server restarts a configuration change causes (a technician applying a
 * config stays logged in).
 *
 * Session: a random token in an HttpOnly, SameSite=Strict cookie; the server keeps only its
 * SHA-256, with the user, role, a CSRF token and the last time it was used. Idle sessions end
 * after `idleMs`, every session after `maxAgeMs`.
 *
 * Login throttle (OWASP "device cookies"): a browser that logged in successfully gets a signed
 * device cookie for that user. Attempts from such a browser are limited only by its own
 * failures. Every other attempt (unknown browser, scripts with Basic credentials that are not
 * already verified) is limited per client address, per user name and globally. An attacker
 * guessing from many addresses therefore hits the global limit and locks out only other
 * unknown browsers; a technician who logged in before on this tablet still gets in.
 */

export interface Session extends Principal {
  csrf: string;
  createdMs: number;
  lastSeenMs: number;
}

export interface SessionOptions {
  idleMs?: number;
  maxAgeMs?: number;
  nowMs?: () => number;
  maxSessions?: number;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  readonly idleMs: number;
  readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly max: number;

  constructor(o: SessionOptions = {}) {
    this.idleMs = o.idleMs ?? 15 * 60_000;
    this.maxAgeMs = o.maxAgeMs ?? 12 * 3600_000;
    this.now = o.nowMs ?? Date.now;
    this.max = o.maxSessions ?? 1000;
  }

  create(principal: Principal): { token: string; session: Session } {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: Session = {
      name: principal.name,
      role: principal.role,
      csrf: randomBytes(24).toString('base64url'),
      createdMs: now,
      lastSeenMs: now,
    };
    if (this.sessions.size >= this.max) this.sweep();
    if (this.sessions.size >= this.max) {
      // the oldest session makes room (a Map iterates in insertion order)
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    this.sessions.set(digest(token), session);
    return { token, session };
  }

  /** The live session for a cookie token (touching it), or null when unknown or expired. */
  get(token: string, touch = true): Session | null {
    const key = digest(token);
    const s = this.sessions.get(key);
    if (!s) return null;
    const now = this.now();
    if (now - s.lastSeenMs > this.idleMs || now - s.createdMs > this.maxAgeMs) {
      this.sessions.delete(key);
      return null;
    }
    if (touch) s.lastSeenMs = now;
    return s;
  }

  delete(token: string): void {
    this.sessions.delete(digest(token));
  }

  /** End every session of a user whose role changed or who was removed. */
  revokeUnless(valid: (name: string, role: Role) => boolean): void {
    for (const [k, s] of this.sessions) if (!valid(s.name, s.role)) this.sessions.delete(k);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, s] of this.sessions) {
      if (now - s.lastSeenMs > this.idleMs || now - s.createdMs > this.maxAgeMs)
        this.sessions.delete(k);
    }
  }
}

export interface ThrottleOptions {
  perAddress?: number;
  perUser?: number;
  global?: number;
  perDevice?: number;
  windowMs?: number;
  nowMs?: () => number;
}

export interface LoginAttempt {
  address: string;
  user: string;
  /** the device cookie presented, already checked to be signed for this user */
  device: string | null;
}

class Window {
  private readonly counts = new Map<string, { count: number; since: number }>();
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}
  count(key: string): number {
    const r = this.counts.get(key);
    if (!r) return 0;
    if (this.now() - r.since > this.windowMs) {
      this.counts.delete(key);
      return 0;
    }
    return r.count;
  }
  add(key: string): void {
    const current = this.count(key);
    const r = this.counts.get(key) ?? { count: current, since: this.now() };
    r.count++;
    this.counts.set(key, r);
    if (this.counts.size > 10_000) this.counts.clear();
  }
  reset(key: string): void {
    this.counts.delete(key);
  }
}

export class LoginThrottle {
  private readonly failures: Window;
  private readonly limits: Required<Omit<ThrottleOptions, 'nowMs' | 'windowMs'>>;
  private readonly deviceKey = randomBytes(32);

  constructor(o: ThrottleOptions = {}) {
    this.failures = new Window(o.windowMs ?? 60_000, o.nowMs ?? Date.now);
    this.limits = {
      perAddress: o.perAddress ?? 10,
      perUser: o.perUser ?? 10,
      global: o.global ?? 50,
      perDevice: o.perDevice ?? 10,
    };
  }

  /** Why this attempt is refused before its password is even checked, or null. */
  refused(a: LoginAttempt): string | null {
    if (a.device !== null) {
      return this.failures.count(`d:${a.device}`) >= this.limits.perDevice
        ? 'too many failed logins from this browser'
        : null;
    }
    if (this.failures.count(`a:${a.address}`) >= this.limits.perAddress)
      return 'too many failed logins from this address';
    if (this.failures.count(`u:${a.user}`) >= this.limits.perUser)
      return 'too many failed logins for this user from unknown browsers';
    if (this.failures.count('global') >= this.limits.global)
      return 'too many failed logins on this gateway';
    return null;
  }

  failed(a: LoginAttempt): void {
    if (a.device !== null) {
      this.failures.add(`d:${a.device}`);
      return;
    }
    this.failures.add(`a:${a.address}`);
    this.failures.add(`u:${a.user}`);
    this.failures.add('global');
  }

  /** A browser's own failures are forgiven when it logs in; an address's are not (an attacker
   * with one valid account must not reset the count between guesses). */
  succeeded(a: LoginAttempt): void {
    if (a.device !== null) this.failures.reset(`d:${a.device}`);
  }

  /** A device cookie value for a user who just logged in: `<nonce>.<user b64>.<hmac>`. */
  deviceCookie(user: string): string {
    const body = `${randomBytes(12).toString('base64url')}.${Buffer.from(user).toString('base64url')}`;
    return `${body}.${this.sign(body)}`;
  }

  /** The device id (its nonce) when `cookie` is a device cookie this gateway signed for `user`. */
  deviceFor(cookie: string | undefined, user: string): string | null {
    if (!cookie) return null;
    const parts = cookie.split('.');
    if (parts.length !== 3) return null;
    const [nonce, userB64, mac] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${nonce}.${userB64}`));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    return Buffer.from(userB64, 'base64url').toString('utf8') === user ? nonce : null;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.deviceKey).update(body).digest('base64url');
  }
}

/** What outlives one HTTP server instance: sessions and the login throttle. */
export interface HttpState {
  sessions: SessionStore;
  throttle: LoginThrottle;
}

export function createHttpState(
  o: { sessions?: SessionOptions; throttle?: ThrottleOptions } = {},
): HttpState {
  return { sessions: new SessionStore(o.sessions), throttle: new LoginThrottle(o.throttle) };
}
