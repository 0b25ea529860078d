import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { EdgeError, isEdgeError } from '../errors.js';
import { openDb } from './reply-store-schema.js';
import type { CommandReply } from './schemas.js';

/**
 * Durable replies of platform commands, so a command id runs at most once across restarts and
 * kill -9: the router writes a 'started' row (command id, name, this process) before it runs a
 * state-changing command and the reply before it publishes it, each one committed transaction
 * (WAL, synchronous FULL: it survives a power cut too). A re-sent id is answered from here.
 *
 * A 'started' row without a reply was left by a process that died mid-run (another process
 * token): the command may or may not have taken effect, so it is never run again; the router
 * answers EDGE_COMMAND_INTERRUPTED (stored as that id's reply). A 'started' row of this very
 * process belongs to a router that is still running it (the gateway restarts its pipeline on
 * config-put while the old router waits for the handler): the new router waits for its reply.
 *
 * Its own file in dataDir (`command-replies.sqlite`), like the outbox and the line state: the
 * targeting store shares its file with the line engine's snapshot, which the command router
 * does not own. Bounded: rows older than `maxAgeMs` (7 days) or beyond the newest `maxRows`
 * (10,000) are pruned on open and every `pruneEvery` inserts; the age limit never removes the
 * newest `minKeepRows` (1,000), whatever the wall clock says. A platform re-sends within
 * minutes (MQTT session, its own retry), and a day on a line is a few hundred commands, so
 * this keeps weeks of ids at a few MB at most.
 *
 * Each row also keeps where its reply goes (the MQTT 5 response topic and correlation data, or
 * the `<base>/replies/<name>` fallback) and when it was published (`published_at`, wall ms, set
 * only after the publish resolved). A reply that could not be published (a config-put restarts
 * the pipeline and stops the old uplink; the process died after storing it) is delivered later
 * by the next router (reply-delivery.ts). Files created before these columns existed get them
 * on open (user_version 0 -> 1); their done rows count as published (their destination is
 * unknown).
 *
 * Ids are unique: each row keeps a hash of what was asked (`args_hash`, see command-id.ts), so a
 * reused id with other arguments is refused instead of answered with the old reply. Rows written
 * before that column existed (user_version < 2) have no hash and match any arguments (their
 * arguments are unknown; refusing them would turn a legitimate re-send into an error).
 *
 * A reply the uplink refuses for good (too large for the broker, the response topic not
 * authorized) is marked `undeliverable_at` by the late delivery after a few tries: never tried
 * again, still the answer to a re-send of its id.
 */

export interface ReplyStoreOptions {
  file: string;
  wallMs: () => number;
  log: Logger;
  maxRows?: number;
  maxAgeMs?: number;
  /**
   * the newest rows the age limit never removes (default 1,000): a wall clock that jumps forward
   * (a Pi without RTC setting its time) must not make the gateway forget the ids it just ran
   */
  minKeepRows?: number;
  pruneEvery?: number;
  /** identifies this process; defaults to one random token per process (tests set it) */
  processToken?: string;
}

/** Where a reply goes: the response topic (or fallback reply topic) and correlation data. */
export interface ReplyDestination {
  topic: string;
  correlation?: Buffer;
}

/** A stored reply that was never published, with its destination and exact stored text. */
export interface UndeliveredReply {
  id: string;
  command: string;
  topic: string;
  correlation: Buffer | null;
  /** the reply exactly as stored (published byte for byte) */
  payload: string;
  finishedMs: number;
}

/** A command whose reply is not stored yet. */
export interface UnfinishedCommand {
  id: string;
  command: string;
  /** started by this process (a router of this process may still be running it) */
  sameProcess: boolean;
  /** its destination is known (rows written before the destination columns existed are not) */
  hasDestination: boolean;
}

/** `argsHash` is null for rows written before hashes were stored (they match any arguments). */
export type StoredCommand =
  | { state: 'done'; command: string; argsHash: string | null; reply: CommandReply }
  | { state: 'started'; command: string; argsHash: string | null; sameProcess: boolean };

interface UndeliveredRow {
  id: string;
  command: string;
  topic: string;
  correlation: Buffer | null;
  payload: string;
  finishedMs: number;
}

interface UnfinishedRow {
  id: string;
  command: string;
  process: string;
  hasDestination: number;
}

interface Row {
  command: string;
  state: string;
  process: string;
  reply: string | null;
  argsHash: string | null;
}

/** One token per process: a 'started' row with another token was left by a dead process. */
const PROCESS_TOKEN = `${process.pid}-${randomUUID()}`;

export const REPLY_STORE_FILE = 'command-replies.sqlite';
const DEFAULT_MAX_ROWS = 10_000;
const DEFAULT_MAX_AGE_MS = 7 * 24 * 3600_000;

export class ReplyStore {
  private readonly db: Database.Database;
  private readonly token: string;
  private readonly maxRows: number;
  private readonly maxAgeMs: number;
  private readonly minKeepRows: number;
  private readonly pruneEvery: number;
  private readonly getStmt: Database.Statement<[string], Row>;
  private readonly beginStmt: Database.Statement;
  private readonly finishStmt: Database.Statement;
  private readonly pruneStmt: Database.Statement<[number, number, number]>;
  private readonly publishedStmt: Database.Statement;
  private readonly undeliverableStmt: Database.Statement;
  private readonly undeliveredStmt: Database.Statement<[number, number], UndeliveredRow>;
  private readonly staleStmt: Database.Statement<[number], { n: number }>;
  private readonly unfinishedStmt: Database.Statement<[number], UnfinishedRow>;
  private inserts = 0;
  private inflight = 0;
  private closing = false;
  private closed = false;
  pruned = 0;

  constructor(private readonly o: ReplyStoreOptions) {
    this.token = o.processToken ?? PROCESS_TOKEN;
    this.maxRows = o.maxRows ?? DEFAULT_MAX_ROWS;
    this.maxAgeMs = o.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.minKeepRows = o.minKeepRows ?? 1_000;
    this.pruneEvery = o.pruneEvery ?? 100;
    mkdirSync(dirname(o.file), { recursive: true });
    this.db = this.open();
    this.getStmt = this.db.prepare(
      'SELECT command, state, process, reply, args_hash AS argsHash FROM command_reply WHERE id = ?',
    );
    this.beginStmt = this.db.prepare(
      `INSERT INTO command_reply
         (id, command, state, process, created_ms, reply_topic, correlation, args_hash)
       VALUES (?, ?, 'started', ?, ?, ?, ?, ?)`,
    );
    this.finishStmt = this.db.prepare(
      `UPDATE command_reply SET state = 'done', reply = ?, finished_ms = ? WHERE id = ?`,
    );
    this.pruneStmt = this.db.prepare(
      `DELETE FROM command_reply
       WHERE (created_ms < ? AND rowid NOT IN
               (SELECT rowid FROM command_reply ORDER BY rowid DESC LIMIT ?))
          OR rowid IN (SELECT rowid FROM command_reply ORDER BY rowid DESC LIMIT -1 OFFSET ?)`,
    );
    this.publishedStmt = this.db.prepare(
      `UPDATE command_reply SET published_at = ?
       WHERE id = ? AND state = 'done' AND published_at IS NULL AND reply = ?`,
    );
    this.undeliverableStmt = this.db.prepare(
      `UPDATE command_reply SET undeliverable_at = ?
       WHERE id = ? AND published_at IS NULL AND undeliverable_at IS NULL`,
    );
    const undelivered = `state = 'done' AND published_at IS NULL AND reply_topic IS NOT NULL
      AND undeliverable_at IS NULL`;
    this.undeliveredStmt = this.db.prepare(
      `SELECT id, command, reply_topic AS topic, correlation, reply AS payload,
              finished_ms AS finishedMs
       FROM command_reply WHERE ${undelivered} AND finished_ms >= ?
       ORDER BY finished_ms, rowid LIMIT ?`,
    );
    this.staleStmt = this.db.prepare(
      `SELECT COUNT(*) AS n FROM command_reply WHERE ${undelivered} AND finished_ms < ?`,
    );
    this.unfinishedStmt = this.db.prepare(
      `SELECT id, command, process, reply_topic IS NOT NULL AS hasDestination
       FROM command_reply WHERE state = 'started' AND created_ms >= ? ORDER BY rowid`,
    );
    this.prune();
  }

  /** Open (schema included); a file SQLite cannot use is moved aside and a new one started. */
  private open(): Database.Database {
    try {
      return openDb(this.o.file);
    } catch (err) {
      if (isEdgeError(err, 'EDGE_STORE_TOO_NEW')) throw err; // refused, never moved aside
      if (!existsSync(this.o.file)) throw storeError(this.o.file, err);
      const movedTo = `${this.o.file}.corrupt-${this.o.wallMs()}`;
      this.o.log.error({ err, movedTo }, 'command reply store unusable; moved aside');
      try {
        renameSync(this.o.file, movedTo);
        for (const ext of ['-wal', '-shm'])
          if (existsSync(this.o.file + ext)) renameSync(this.o.file + ext, movedTo + ext);
        return openDb(this.o.file);
      } catch (again) {
        throw storeError(this.o.file, again);
      }
    }
  }

  /** What is stored for a command id, or null for an id never seen (or pruned). */
  get(id: string): StoredCommand | null {
    this.assertOpen();
    const row = this.getStmt.get(id);
    if (!row) return null;
    const argsHash = row.argsHash;
    if (row.state === 'done' && row.reply !== null) {
      const reply = JSON.parse(row.reply) as CommandReply;
      return { state: 'done', command: row.command, argsHash, reply };
    }
    return {
      state: 'started',
      command: row.command,
      argsHash,
      sameProcess: row.process === this.token,
    };
  }

  /**
   * Durably mark `id` as started by this process, before it runs, with where its reply goes and
   * the hash of what was asked. Throws if the id exists.
   */
  begin(id: string, command: string, to?: ReplyDestination, argsHash?: string): void {
    this.assertOpen();
    try {
      this.beginStmt.run(
        id,
        command,
        this.token,
        this.o.wallMs(),
        to?.topic ?? null,
        to?.correlation ?? null,
        argsHash ?? null,
      );
    } catch (err) {
      throw storeError(this.o.file, err);
    }
    this.inflight++;
    if (++this.inserts % this.pruneEvery === 0) this.prune();
  }

  /** Durably store the reply of a command begun here (before the reply is published). */
  finish(id: string, reply: CommandReply): void {
    try {
      this.finishStmt.run(JSON.stringify(reply), this.o.wallMs(), id);
    } catch (err) {
      throw storeError(this.o.file, err);
    } finally {
      this.inflight = Math.max(0, this.inflight - 1);
      if (this.closing && this.inflight === 0) this.closeNow();
    }
  }

  /** Store a reply for an id that was started by a dead process (its final answer). */
  settle(id: string, reply: CommandReply): void {
    this.assertOpen();
    try {
      this.finishStmt.run(JSON.stringify(reply), this.o.wallMs(), id);
    } catch (err) {
      throw storeError(this.o.file, err);
    }
  }

  /**
   * Mark the reply of `id` published, if `payload` is exactly its stored reply (a provisional
   * answer such as "still running" never marks it). False when nothing was marked.
   */
  markPublished(id: string, payload: string): boolean {
    this.assertOpen();
    try {
      return this.publishedStmt.run(this.o.wallMs(), id, payload).changes > 0;
    } catch (err) {
      throw storeError(this.o.file, err);
    }
  }

  /**
   * Give up on publishing the reply of `id` (the broker refuses it for good): no late delivery
   * tries it again; a re-send of the id is still answered with it. False when nothing was marked.
   */
  markUndeliverable(id: string): boolean {
    this.assertOpen();
    try {
      return this.undeliverableStmt.run(this.o.wallMs(), id).changes > 0;
    } catch (err) {
      throw storeError(this.o.file, err);
    }
  }

  /**
   * Stored replies never published (nor given up on), finished at or after `sinceMs`, oldest
   * finished first.
   */
  undelivered(sinceMs: number, limit = 100): UndeliveredReply[] {
    this.assertOpen();
    return this.undeliveredStmt.all(sinceMs, limit);
  }

  /** How many unpublished replies finished before `beforeMs` (too old to deliver late). */
  staleUndelivered(beforeMs: number): number {
    this.assertOpen();
    return this.staleStmt.get(beforeMs)?.n ?? 0;
  }

  /** Commands started at or after `sinceMs` whose reply is not stored yet. */
  unfinished(sinceMs: number): UnfinishedCommand[] {
    this.assertOpen();
    return this.unfinishedStmt.all(sinceMs).map((r) => ({
      id: r.id,
      command: r.command,
      sameProcess: r.process === this.token,
      hasDestination: r.hasDestination === 1,
    }));
  }

  get isOpen(): boolean {
    return !this.closing;
  }

  /**
   * Wait for the reply of a command this process is running in another router (until
   * `timeoutMs`); null when it did not come or the store closed.
   */
  async waitForReply(id: string, timeoutMs: number, intervalMs = 50): Promise<CommandReply | null> {
    const until = Date.now() + timeoutMs;
    while (!this.closing && Date.now() <= until) {
      const stored = this.get(id);
      if (stored?.state === 'done') return stored.reply;
      if (!stored) return null;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    return null;
  }

  /** Drop rows older than maxAgeMs and beyond the newest maxRows. */
  prune(): number {
    this.assertOpen();
    const n = this.pruneStmt.run(
      this.o.wallMs() - this.maxAgeMs,
      this.minKeepRows,
      this.maxRows,
    ).changes;
    this.pruned += n;
    if (n > 0) this.o.log.debug({ pruned: n }, 'old command replies pruned');
    return n;
  }

  count(): number {
    this.assertOpen();
    return (this.db.prepare('SELECT COUNT(*) AS n FROM command_reply').get() as { n: number }).n;
  }

  /**
   * Close; a command still running (a config-put restarts the gateway from inside its handler)
   * keeps the connection open until its reply is stored.
   */
  close(): void {
    this.closing = true;
    if (this.inflight === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closing)
      throw new EdgeError(
        'EDGE_COMMAND_REPLY_STORE',
        `command reply store ${this.o.file} is closed`,
      );
  }
}

function storeError(file: string, err: unknown): EdgeError {
  return new EdgeError(
    'EDGE_COMMAND_REPLY_STORE',
    `command reply store ${file}: ${(err as Error).message}`,
    { cause: err },
  );
}
