import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { isEdgeError } from '../errors.js';
import type { ReplyStore } from './reply-store.js';

/**
 * Late delivery of stored command replies that were never published. A config-put restarts the
 * whole pipeline from inside its handler: the old router's uplink is stopped before the reply
 * exists, so the reply is stored but not published. A process that dies between storing a reply
 * and publishing it leaves the same. The router of the new pipeline (or the next process) owns
 * this: on start, on every uplink connect and after a failed try (capped backoff), it publishes
 * every stored, unpublished reply finished within `maxAgeMs`, oldest finished first, byte for byte
 * as stored, to the stored response topic (or fallback reply topic) with the stored correlation
 * data, and marks each published only after the publish resolved (at least once: a process dying
 * between the PUBACK and the mark publishes it once more; the platform matches replies by id).
 *
 * Bound: 1 hour by default. A platform waiting for a reply gives up or re-sends well within that;
 * an older reply is left unpublished and counted (`stale`, logged once per start), and it is still
 * the answer to a re-send of its id (the store keeps ids 7 days).
 *
 * Also handled here:
 * - a command an older router of this process is still running (the config-put whose handler
 *   restarted the pipeline): polled until its reply is stored, then delivered;
 * - a command a dead process started and never finished: settled as EDGE_COMMAND_INTERRUPTED by
 *   the router (`interrupted`) and that reply delivered, so the platform is not left waiting.
 *
 * One live router per file: a stopped router's transport publishes nothing, so a reply is not
 * delivered twice by two routers. Ids the router is answering itself are skipped (`busy`).
 *
 * Failures: an offline uplink (EDGE_UPLINK_OFFLINE, a connection closed under the publish, or
 * `connected` false afterwards) ends the pass: nothing goes out until the next connect. Any other
 * failure belongs to that one reply (EDGE_UPLINK_TOO_LARGE, an MQTT 5 PUBACK reason code such as
 * 0x87 not authorized for its response topic): the pass goes on with the next reply, so one reply
 * never blocks the others, and the failed one is tried again on the next passes (backoff). After
 * `maxAttempts` such failures it is marked undeliverable in the store (`undeliverable`, logged
 * once): never tried again, still the answer to a re-send of its id. Attempts are counted in
 * memory: a new process gives a reply `maxAttempts` more tries.
 */

/** What the delivery needs from the uplink (edge/uplink/uplink.ts satisfies it). */
export interface ReplyTransport {
  publishReply(topic: string, payload: string, correlationData?: Buffer): Promise<void>;
  /** false while offline: no try until the next connect */
  readonly connected?: boolean;
  /** called on every (re)connect; returns the unsubscribe */
  onConnected?(listener: () => void): () => void;
}

export interface ReplyDeliveryOptions {
  store: ReplyStore;
  transport: ReplyTransport;
  clock: Clock;
  log: Logger;
  /** replies finished longer ago than this are not delivered (left and counted); default 1 h */
  maxAgeMs?: number;
  /** how long a command of another router of this process may still be running */
  runningMs: number;
  /** ids the router is answering right now (it publishes those itself) */
  busy: (id: string) => boolean;
  /** store the EDGE_COMMAND_INTERRUPTED reply of a command a dead process started */
  interrupted: (command: string, id: string) => void;
  /** first retry delay after a failed publish, doubled up to `retryMaxMs`; defaults 1 s, 60 s */
  retryMs?: number;
  retryMaxMs?: number;
  /** failures of one reply (uplink connected) before it is marked undeliverable; default 5 */
  maxAttempts?: number;
}

export const LATE_REPLY_MAX_AGE_MS = 3600_000;
/** how often a reply of an older router of this process is looked for while it runs */
const RUNNING_POLL_MS = 200;
const BATCH = 100;
const DEFAULT_MAX_ATTEMPTS = 5;
/** errors of mqtt.js when the connection closes under a publish */
const CONNECTION_LOST = new Set(['Connection closed', 'client disconnecting']);

export class ReplyDelivery {
  readonly counters = { delivered: 0, failures: 0, stale: 0, interrupted: 0, undeliverable: 0 };
  /** failed tries of a reply while the uplink was connected, by id */
  private readonly attempts = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private retryDelayMs = 0;
  private running = false;
  private again = false;
  private stopped = false;
  private offConnected: (() => void) | null = null;
  private readonly maxAgeMs: number;

  constructor(private readonly o: ReplyDeliveryOptions) {
    this.maxAgeMs = o.maxAgeMs ?? LATE_REPLY_MAX_AGE_MS;
  }

  start(): void {
    if (this.stopped || this.offConnected) return;
    this.offConnected = this.o.transport.onConnected?.(() => this.kick()) ?? null;
    try {
      const stale = this.o.store.staleUndelivered(this.o.clock.wallMs() - this.maxAgeMs);
      this.counters.stale = stale;
      if (stale > 0) {
        this.o.log.warn(
          { stale, maxAgeMs: this.maxAgeMs },
          'unpublished command replies too old to deliver; left for a re-send of their id',
        );
      }
    } catch (err) {
      this.o.log.warn({ err }, 'command reply store not readable for late replies');
    }
    this.kick();
  }

  /** Deliver now (or right after the delivery under way). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  }

  /** A reply this router could not publish: try again after the backoff. */
  failed(): void {
    this.retryLater();
  }

  stop(): void {
    this.stopped = true;
    this.offConnected?.();
    this.offConnected = null;
    this.clearTimer();
  }

  private async run(): Promise<void> {
    const { store, transport, log } = this.o;
    if (this.stopped || !store.isOpen) return;
    if (transport.connected === false) {
      // the next connect kicks; a transport without connect events is polled
      if (!transport.onConnected) this.schedule(this.nextRetryMs());
      return;
    }
    this.running = true;
    this.clearTimer();
    let retry = false;
    let more = false;
    let sent = 0;
    try {
      const now = this.o.clock.wallMs();
      this.settleInterrupted(now);
      const rows = store.undelivered(now - this.maxAgeMs, BATCH);
      for (const row of rows) {
        if (this.stopped) return;
        if (this.o.busy(row.id)) continue;
        try {
          await transport.publishReply(row.topic, row.payload, row.correlation ?? undefined);
        } catch (err) {
          this.counters.failures++;
          retry = true;
          if (this.offline(err)) {
            log.warn({ err, id: row.id, command: row.command }, 'late command reply not published');
            break; // the next connect kicks (or the backoff)
          }
          this.failedOne(row.id, row.command, err);
          continue;
        }
        this.attempts.delete(row.id);
        if (store.isOpen) store.markPublished(row.id, row.payload);
        this.counters.delivered++;
        sent++;
        log.info(
          { id: row.id, command: row.command, lateMs: now - row.finishedMs },
          'late command reply published',
        );
      }
      more = !retry && sent > 0 && rows.length === BATCH;
    } catch (err) {
      if (!store.isOpen) return;
      log.warn({ err }, 'late command replies not read');
      retry = true;
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (retry) return this.retryLater();
    this.retryDelayMs = 0;
    if (more || this.again) {
      this.again = false;
      return this.schedule(0);
    }
    if (this.awaitingOtherRouter()) this.schedule(RUNNING_POLL_MS);
  }

  /** The uplink is offline: not a failure of this one reply. */
  private offline(err: unknown): boolean {
    if (this.o.transport.connected === false) return true;
    // no PUBACK in time: the connection is in trouble, not this one reply
    if (isEdgeError(err))
      return err.code === 'EDGE_UPLINK_OFFLINE' || err.code === 'EDGE_UPLINK_TIMEOUT';
    return err instanceof Error && CONNECTION_LOST.has(err.message);
  }

  /** A reply the connected uplink did not publish: counted; given up after `maxAttempts`. */
  private failedOne(id: string, command: string, err: unknown): void {
    const n = (this.attempts.get(id) ?? 0) + 1;
    const max = this.o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (n < max) {
      this.attempts.set(id, n);
      this.o.log.warn({ err, id, command, attempt: n }, 'late command reply not published');
      return;
    }
    this.attempts.delete(id);
    if (this.o.store.isOpen && this.o.store.markUndeliverable(id)) this.counters.undeliverable++;
    this.o.log.error(
      { err, id, command, attempts: n },
      'late command reply undeliverable: not tried again; still the answer to a re-send of its id',
    );
  }

  /** Commands a dead process started (with a known destination) get their INTERRUPTED reply. */
  private settleInterrupted(now: number): void {
    for (const c of this.o.store.unfinished(now - this.maxAgeMs)) {
      if (c.sameProcess || !c.hasDestination) continue;
      this.o.interrupted(c.command, c.id);
      this.counters.interrupted++;
    }
  }

  /** A command of another router of this process still running: its reply comes here. */
  private awaitingOtherRouter(): boolean {
    try {
      const since = this.o.clock.wallMs() - this.o.runningMs;
      return this.o.store
        .unfinished(since)
        .some((c) => c.sameProcess && c.hasDestination && !this.o.busy(c.id));
    } catch {
      return false;
    }
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.schedule(this.nextRetryMs());
  }

  private nextRetryMs(): number {
    const first = this.o.retryMs ?? 1_000;
    this.retryDelayMs = Math.min(
      this.retryDelayMs === 0 ? first : this.retryDelayMs * 2,
      this.o.retryMaxMs ?? 60_000,
    );
    return this.retryDelayMs;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
