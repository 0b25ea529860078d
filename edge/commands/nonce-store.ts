import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';

/**
 * The nonces (JWS `jti`) of signed commands seen, each kept until its command expired (plus the
 * clock skew): a captured command sent again is refused, also after a gateway restart. Kept in
 * memory and in a small SQLite file (WAL, synchronous FULL) written before the command runs.
 * Without a file (tests, or a file that cannot be opened) the nonces live in memory only; the
 * reply store then still runs each command id at most once.
 */
export const NONCE_STORE_FILE = 'command-nonces.sqlite';

export interface NonceStoreOptions {
  /** SQLite file; absent: memory only */
  file?: string;
  wallMs: () => number;
  log: Logger;
}

export class NonceStore {
  private readonly seen = new Map<string, number>();
  private db: Database.Database | null = null;
  private insert: Database.Statement | null = null;
  private lastPruneMs = 0;
  readonly durable: boolean;

  constructor(private readonly o: NonceStoreOptions) {
    if (o.file) {
      try {
        mkdirSync(dirname(o.file), { recursive: true });
        const db = new Database(o.file);
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.exec(
          'CREATE TABLE IF NOT EXISTS nonce (nonce TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL)',
        );
        db.prepare('DELETE FROM nonce WHERE expires_ms < ?').run(o.wallMs());
        const rows = db.prepare('SELECT nonce, expires_ms AS e FROM nonce').all() as {
          nonce: string;
          e: number;
        }[];
        for (const r of rows) this.seen.set(r.nonce, r.e);
        this.insert = db.prepare('INSERT OR REPLACE INTO nonce (nonce, expires_ms) VALUES (?, ?)');
        this.db = db;
      } catch (err) {
        o.log.error({ err }, 'command nonce file not open: nonces kept in memory only');
      }
    }
    this.durable = this.db !== null;
  }

  /** Record `nonce` until `expiresMs`; false when it was seen before (a replay). */
  claim(nonce: string, expiresMs: number): boolean {
    const now = this.o.wallMs();
    this.prune(now);
    const known = this.seen.get(nonce);
    if (known !== undefined && known >= now) return false;
    this.seen.set(nonce, expiresMs);
    try {
      this.insert?.run(nonce, expiresMs);
    } catch (err) {
      this.o.log.warn({ err }, 'command nonce not stored (kept in memory)');
    }
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    if (now - this.lastPruneMs < 10_000 && this.seen.size < 10_000) return;
    this.lastPruneMs = now;
    for (const [n, e] of this.seen) if (e < now) this.seen.delete(n);
    try {
      this.db?.prepare('DELETE FROM nonce WHERE expires_ms < ?').run(now);
    } catch (err) {
      this.o.log.warn({ err }, 'expired command nonces not removed');
    }
  }

  close(): void {
    if (this.db?.open) this.db.close();
    this.db = null;
    this.insert = null;
  }
}
