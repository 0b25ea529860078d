import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { UplinkConfig } from '../../config/schema.js';
import type { Clock, TimerHandle } from '../clock.js';
import { envelopeJson, type Stream } from '../events/model.js';
import type { Outbox, StoredRow } from '../outbox/outbox.js';
import type { UplinkStats } from './health.js';
import type { OversizeGuard } from './oversize.js';
import { ReplayCursor } from './replay.js';

/**
 * The publish window: at most `size` publishes unacknowledged (the configured inFlightWindow,
 * lowered to the broker's Receive Maximum from the MQTT 5 CONNACK), filled from the outbox in
 * commit order and then with replayed rows. A row is marked delivered only on its PUBACK (QoS 0:
 * once written to the socket), in groups; after a reconnect publishing resumes from the oldest
 * undelivered row. A publish without PUBACK for publishTimeoutMs drops the connection.
 */

const ACK_FLUSH_ROWS = 1000;
const ACK_FLUSH_MS = 20;

/** What the window needs of the connection. */
export interface WindowLink {
  /** The client when connected, else null. */
  readonly live: MqttClient | null;
  isCurrent(client: MqttClient): boolean;
  drop(client: MqttClient): void;
}

export interface PublishWindowOptions {
  config: UplinkConfig;
  gatewayId: string;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  stats: UplinkStats;
  oversize: OversizeGuard;
  link: WindowLink;
  topicFor: (event: { type: string; stream?: Stream }) => string;
}

export class PublishWindow {
  /** key -> sent at (mono); live rows by pos (> 0), replayed rows by a negative token */
  private readonly inFlight = new Map<number, number>();
  private cursor = 0;
  private windowSize: number;
  private receiveMaximumValue: number | null = null;
  private replayCursor: ReplayCursor | null = null;
  private replayToken = 0;
  private replayTimer: TimerHandle | null = null;
  private readonly ackBuffer: number[] = [];
  private pumpScheduled = false;
  private ackTimer: TimerHandle | null = null;

  constructor(private readonly o: PublishWindowOptions) {
    this.windowSize = o.config.inFlightWindow;
  }

  get size(): number {
    return this.windowSize;
  }

  get receiveMaximum(): number | null {
    return this.receiveMaximumValue;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get replayActive(): boolean {
    return this.replayCursor !== null;
  }

  /** A new connection: nothing in flight, acknowledged rows marked, resend from the start. */
  connected(receiveMaximum: unknown): void {
    this.inFlight.clear();
    this.flushAcks();
    this.cursor = 0;
    this.receiveMaximumValue = typeof receiveMaximum === 'number' ? receiveMaximum : null;
    this.windowSize = Math.max(
      1,
      Math.min(this.o.config.inFlightWindow, this.receiveMaximumValue ?? Infinity),
    );
  }

  /** The connection was abandoned: its publishes will never be acknowledged. */
  dropped(): void {
    this.inFlight.clear();
  }

  /** Publish one row; false when it is too large for the broker (parked or skipped instead). */
  private publishRow(client: MqttClient, row: StoredRow, key: number, replay: boolean): boolean {
    const { stats, oversize } = this.o;
    const qos = row.stream === 'telemetry' ? this.o.config.telemetry.qos : 1;
    const topic = this.o.topicFor(row);
    const payload = envelopeJson(row, this.o.gatewayId, replay);
    // no limit in force (the usual case): no need to count the payload's bytes
    const over =
      oversize.limit.bytes === null
        ? null
        : oversize.excess({ topic, payloadBytes: Buffer.byteLength(payload), qos });
    if (over) {
      if (replay) oversize.skipReplay(row, over.bytes, over.limit);
      else oversize.park(row, over.bytes, over.limit);
      return false;
    }
    this.inFlight.set(key, this.o.clock.monoMs());
    if (this.inFlight.size > stats.maxInFlightSeen) stats.maxInFlightSeen = this.inFlight.size;
    stats.published++;
    client.publish(topic, payload, { qos }, (err) => {
      if (!this.o.link.isCurrent(client)) return;
      if (err) {
        stats.lastError = err.message;
        this.o.link.drop(client);
        return;
      }
      if (replay && row.parked) oversize.delivered(row);
      this.onAck(key);
    });
    return true;
  }

  /** Fill the in-flight window from the outbox in commit order, then with replayed rows. */
  pump(): void {
    const client = this.o.link.live;
    if (!client) return;
    while (this.inFlight.size < this.windowSize) {
      const batch = this.o.outbox.pending(this.cursor, this.windowSize - this.inFlight.size);
      if (batch.length === 0) break;
      for (const row of batch) {
        this.cursor = row.pos;
        this.publishRow(client, row, row.pos, false);
      }
    }
    this.pumpReplay(client);
  }

  private pumpReplay(client: MqttClient): void {
    const r = this.replayCursor;
    if (!r || this.replayTimer) return;
    const free = this.windowSize - this.inFlight.size;
    if (free <= 0) return;
    const allowance = Math.min(free, r.allowance(this.o.clock.monoMs()));
    if (allowance > 0) {
      const rows = this.o.outbox.range(r.stream, r.nextSeq, r.toSeq, allowance);
      if (rows.length === 0) r.remaining = 0;
      let sent = 0;
      for (const row of rows) if (this.publishRow(client, row, -++this.replayToken, true)) sent++;
      if (rows.length > 0) r.consume(rows.length, rows[rows.length - 1]!.seq);
      this.o.stats.replayed += sent;
    }
    if (r.done) {
      this.o.log.info({ stream: r.stream, sent: r.sent }, 'replay finished');
      this.replayCursor = null;
      return;
    }
    if (allowance === 0 || this.inFlight.size < this.windowSize) {
      this.replayTimer = this.o.clock.setTimer(() => {
        this.replayTimer = null;
        this.pump();
      }, r.waitMs());
    }
  }

  /** Start a paced replay (see Uplink.replay); false when one is already running. */
  replay(stream: Stream, fromSeq: number, toSeq: number, maxEvents: number): boolean {
    if (this.replayCursor) return false;
    this.replayCursor = new ReplayCursor(
      stream,
      fromSeq,
      toSeq,
      maxEvents,
      this.o.config.commands.replayEventsPerS,
      this.o.clock.monoMs(),
    );
    this.pump();
    return true;
  }

  private onAck(key: number): void {
    if (!this.inFlight.delete(key)) return;
    this.o.stats.acked++;
    if (key > 0) this.ackBuffer.push(key);
    // refill the window on the next tick; mark delivered in larger groups (fewer transactions)
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        if (this.ackBuffer.length >= ACK_FLUSH_ROWS) this.flushAcks();
        this.pump();
      });
    }
    if (!this.ackTimer && this.ackBuffer.length > 0) {
      this.ackTimer = this.o.clock.setTimer(() => {
        this.ackTimer = null;
        this.flushAcks();
      }, ACK_FLUSH_MS);
    }
  }

  /** Mark acknowledged rows delivered (before any resend decision: connect, stop). */
  private flushAcks(): void {
    if (this.ackBuffer.length === 0) return;
    const positions = this.ackBuffer.splice(0);
    try {
      this.o.outbox.markDelivered(positions);
    } catch (err) {
      this.o.log.error({ err }, 'marking delivered failed');
    }
  }

  /** A publish without PUBACK for publishTimeoutMs: the connection is broken, start over. */
  sweep(): void {
    const client = this.o.link.live;
    if (!client) return;
    const now = this.o.clock.monoMs();
    for (const sentAt of this.inFlight.values()) {
      if (now - sentAt > this.o.config.publishTimeoutMs) {
        this.o.stats.timeouts++;
        this.o.stats.lastError = `no PUBACK within ${this.o.config.publishTimeoutMs} ms`;
        this.o.log.warn({ inFlight: this.inFlight.size }, 'publish timeout, reconnecting');
        this.o.link.drop(client);
        return;
      }
    }
  }

  /** Stopping, step 1: the replay ends. */
  stopReplay(): void {
    this.o.clock.clearTimer(this.replayTimer);
    this.replayCursor = null;
  }

  /** Stopping, step 2 (connection detached): acknowledged rows are marked delivered. */
  stopAcks(): void {
    this.o.clock.clearTimer(this.ackTimer);
    this.flushAcks();
  }
}
