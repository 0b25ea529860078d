import { connect, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { UplinkConfig } from '../../config/schema.js';
import type { Clock } from '../clock.js';
import { EdgeError } from '../errors.js';
import { envelopeJson, type StatusMessage, type Stream } from '../events/model.js';
import type { Outbox, StoredRow } from '../outbox/outbox.js';
import { Backoff } from './backoff.js';
import { connectOptions, redactUrl } from './connect-options.js';
import { OversizeGuard, type OversizeHealth } from './oversize.js';
import { ReplayCursor } from './replay.js';
import { Topics } from './topics.js';

/**
 * Publishes the outbox to the central platform over MQTT (5 or 3.1.1), in commit order.
 * - Events QoS 1; telemetry QoS 0 or 1 (config). A row is marked delivered only on its PUBACK
 *   (QoS 0: once written to the socket).
 * - At most `window` publishes unacknowledged: the configured inFlightWindow, lowered to the
 *   broker's Receive Maximum read from the MQTT 5 CONNACK.
 * - Reconnects are ours (mqtt.js reconnectPeriod 0) with capped backoff and jitter; every
 *   connection is a new client so mqtt.js's in-memory store never resends behind our back; after
 *   a reconnect, publishing resumes from the oldest undelivered row (duplicates keep their id).
 * - Persistent session (clean false; MQTT 5 session expiry), client id = gateway id, last will =
 *   retained offline status, retained online status on connect.
 * - Commands arrive on commands/+ and go to the registered handler; replies are published by
 *   publishReply(); the command router stores each reply and delivers one that could not be
 *   published on a later connect (edge/commands/reply-delivery.ts).
 * - Nothing larger than the broker's Maximum Packet Size (CONNACK, or uplink.maxPacketBytes) is
 *   sent: such a row is parked with an alarm event and the stream goes on (see oversize.ts).
 */

const ACK_FLUSH_ROWS = 1000;
const ACK_FLUSH_MS = 20;

export type UplinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface UplinkHealth extends OversizeHealth {
  state: UplinkState;
  url: string;
  protocolVersion: 4 | 5;
  connects: number;
  disconnects: number;
  inFlight: number;
  window: number;
  receiveMaximum: number | null;
  maxInFlightSeen: number;
  published: number;
  acked: number;
  timeouts: number;
  replayed: number;
  replayActive: boolean;
  lastError: string | null;
  nextRetryInMs: number | null;
}

export interface InboundMessage {
  topic: string;
  payload: Buffer;
  responseTopic?: string;
  correlationData?: Buffer;
}

export interface UplinkOptions {
  config: UplinkConfig;
  gatewayId: string;
  site: string;
  version: string;
  startedAt: string;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  random?: () => number;
}

export class Uplink {
  readonly topics: Topics;
  private client: MqttClient | null = null;
  private state: UplinkState = 'idle';
  /** key -> sent at (mono); live rows by pos (> 0), replayed rows by a negative token */
  private readonly inFlight = new Map<number, number>();
  private cursor = 0;
  private window: number;
  private receiveMaximum: number | null = null;
  private replayCursor: ReplayCursor | null = null;
  private replayToken = 0;
  private replayTimer: NodeJS.Timeout | null = null;
  private readonly ackBuffer: number[] = [];
  private pumpScheduled = false;
  private ackTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private retryAt: number | null = null;
  private readonly backoff: Backoff;
  private unsubscribe: (() => void) | null = null;
  private stopPromise: Promise<void> | null = null;
  private messageHandler: ((m: InboundMessage) => void) | null = null;
  private readonly connectListeners = new Set<() => void>();
  private readonly counters = {
    connects: 0,
    disconnects: 0,
    published: 0,
    acked: 0,
    timeouts: 0,
    replayed: 0,
    maxInFlightSeen: 0,
  };
  private lastError: string | null = null;
  private readonly log: Logger;
  private readonly oversize: OversizeGuard;

  constructor(private readonly o: UplinkOptions) {
    this.log = o.log;
    this.oversize = new OversizeGuard({
      configuredMaxBytes: o.config.maxPacketBytes,
      protocolVersion: o.config.protocolVersion,
      outbox: o.outbox,
      clock: o.clock,
      log: o.log,
    });
    this.backoff = new Backoff(o.config.backoff.initialMs, o.config.backoff.maxMs, o.random);
    this.topics = new Topics(o.config.topicRoot, o.site, o.gatewayId);
    this.window = o.config.inFlightWindow;
  }

  topicFor(event: { type: string; stream?: Stream }): string {
    return this.topics.event(event.type, event.stream ?? 'events');
  }

  get statusTopic(): string {
    return this.topics.status;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Commands (and anything else arriving on commands/+) go to this handler. */
  onMessage(handler: (m: InboundMessage) => void): void {
    this.messageHandler = handler;
  }

  onConnected(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.unsubscribe = this.o.outbox.onCommitted(() => this.pump());
    this.sweepTimer = setInterval(
      () => this.sweep(),
      Math.min(1000, this.o.config.publishTimeoutMs / 2),
    );
    this.open();
  }

  health(): UplinkHealth {
    return {
      state: this.state,
      url: redactUrl(this.o.config.url),
      protocolVersion: this.o.config.protocolVersion,
      connects: this.counters.connects,
      disconnects: this.counters.disconnects,
      published: this.counters.published,
      acked: this.counters.acked,
      timeouts: this.counters.timeouts,
      replayed: this.counters.replayed,
      maxInFlightSeen: this.counters.maxInFlightSeen,
      inFlight: this.inFlight.size,
      window: this.window,
      receiveMaximum: this.receiveMaximum,
      replayActive: this.replayCursor !== null,
      lastError: this.lastError,
      ...this.oversize.health(),
      nextRetryInMs:
        this.retryAt === null
          ? null
          : Math.max(0, Math.round(this.retryAt - this.o.clock.monoMs())),
    };
  }

  statusPayload(state: 'online' | 'offline'): string {
    const status: StatusMessage = {
      schema: 1,
      state,
      gatewayId: this.o.gatewayId,
      version: this.o.version,
      startedAt: this.o.startedAt,
    };
    return JSON.stringify(status);
  }

  private open(): void {
    if (this.stopPromise) return;
    this.state = 'connecting';
    this.retryAt = null;
    const { config } = this.o;
    let client: MqttClient;
    try {
      const options = connectOptions(config, this.o.gatewayId, {
        topic: this.statusTopic,
        payload: this.statusPayload('offline'),
      });
      client = connect(config.url, options);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.error({ err }, 'uplink cannot connect');
      this.scheduleRetry();
      return;
    }
    this.client = client;
    client.on('connect', (connack) => {
      if (this.client !== client) return;
      this.state = 'connected';
      this.counters.connects++;
      this.backoff.reset();
      this.lastError = null;
      this.inFlight.clear();
      this.flushAcks();
      this.cursor = 0;
      const rm = connack.properties?.receiveMaximum;
      this.receiveMaximum = typeof rm === 'number' ? rm : null;
      this.window = Math.max(1, Math.min(config.inFlightWindow, this.receiveMaximum ?? Infinity));
      this.oversize.limit.setBroker(connack.properties?.maximumPacketSize);
      this.log.info(
        {
          url: redactUrl(config.url),
          window: this.window,
          maxPacketBytes: this.oversize.limit.bytes,
          sessionPresent: connack.sessionPresent,
        },
        'uplink connected',
      );
      client.publish(
        this.statusTopic,
        this.statusPayload('online'),
        { qos: 1, retain: true },
        (err) => {
          if (err) this.log.warn({ err }, 'status publish failed');
        },
      );
      if (this.messageHandler) {
        client.subscribe(this.topics.commandFilter, { qos: 1 }, (err) => {
          if (err) this.log.warn({ err }, 'command subscription failed');
        });
      }
      for (const l of this.connectListeners) l();
      this.pump();
    });
    client.on('message', (topic, payload, packet) => {
      if (this.client !== client || !this.messageHandler) return;
      const props = packet.properties;
      const message: InboundMessage = { topic, payload };
      if (props?.responseTopic) message.responseTopic = props.responseTopic;
      if (props?.correlationData) message.correlationData = props.correlationData;
      try {
        this.messageHandler(message);
      } catch (err) {
        this.log.error({ err, topic }, 'message handler threw');
      }
    });
    client.on('error', (err) => {
      if (this.client !== client) return;
      this.lastError = err.message;
      this.log.warn(
        { err: { message: err.message, code: (err as { code?: unknown }).code } },
        'uplink error',
      );
      this.drop(client);
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.drop(client);
    });
  }

  /** Abandon a connection and schedule the next attempt. */
  private drop(client: MqttClient): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.state === 'connected') this.counters.disconnects++;
    this.inFlight.clear();
    client.removeAllListeners();
    client.on('error', () => {}); // late errors of a dead client must not crash
    client.end(true);
    if (this.stopPromise) return;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = this.backoff.next();
    this.state = 'backoff';
    this.retryAt = this.o.clock.monoMs() + delay;
    this.log.info({ delayMs: delay, attempt: this.backoff.attempts }, 'uplink reconnect scheduled');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  /** Publish one row; false when it is too large for the broker (parked or skipped instead). */
  private publishRow(client: MqttClient, row: StoredRow, key: number, replay: boolean): boolean {
    const qos = row.stream === 'telemetry' ? this.o.config.telemetry.qos : 1;
    const topic = this.topicFor(row);
    const payload = envelopeJson(row, this.o.gatewayId, replay);
    const over = this.oversize.excess({ topic, payloadBytes: Buffer.byteLength(payload), qos });
    if (over) {
      if (replay) this.oversize.skipReplay(row, over.bytes, over.limit);
      else this.oversize.park(row, over.bytes, over.limit);
      return false;
    }
    this.inFlight.set(key, this.o.clock.monoMs());
    if (this.inFlight.size > this.counters.maxInFlightSeen)
      this.counters.maxInFlightSeen = this.inFlight.size;
    this.counters.published++;
    client.publish(topic, payload, { qos }, (err) => {
      if (this.client !== client) return;
      if (err) {
        this.lastError = err.message;
        this.drop(client);
        return;
      }
      if (replay && row.parked) this.oversize.delivered(row);
      this.onAck(key);
    });
    return true;
  }

  /** Fill the in-flight window from the outbox in commit order, then with replayed rows. */
  private pump(): void {
    const client = this.client;
    if (!client || this.state !== 'connected') return;
    while (this.inFlight.size < this.window) {
      const batch = this.o.outbox.pending(this.cursor, this.window - this.inFlight.size);
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
    const free = this.window - this.inFlight.size;
    if (free <= 0) return;
    const allowance = Math.min(free, r.allowance(this.o.clock.monoMs()));
    if (allowance > 0) {
      const rows = this.o.outbox.range(r.stream, r.nextSeq, r.toSeq, allowance);
      if (rows.length === 0) r.remaining = 0;
      let sent = 0;
      for (const row of rows) if (this.publishRow(client, row, -++this.replayToken, true)) sent++;
      if (rows.length > 0) r.consume(rows.length, rows[rows.length - 1]!.seq);
      this.counters.replayed += sent;
    }
    if (r.done) {
      this.log.info({ stream: r.stream, sent: r.sent }, 'replay finished');
      this.replayCursor = null;
      return;
    }
    if (allowance === 0 || this.inFlight.size < this.window) {
      this.replayTimer = setTimeout(() => {
        this.replayTimer = null;
        this.pump();
      }, r.waitMs());
    }
  }

  /**
   * Re-send stored events of `stream` with fromSeq <= seq <= toSeq (at most maxEvents, paced at
   * eventsPerS). Returns false when a replay is already running.
   */
  replay(stream: Stream, fromSeq: number, toSeq: number, maxEvents: number): boolean {
    if (this.replayCursor || this.stopPromise) return false;
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

  /** Publish a command reply, QoS 1; resolves on PUBACK. */
  publishReply(topic: string, payload: string, correlationData?: Buffer): Promise<void> {
    const client = this.client;
    if (!client || this.state !== 'connected') {
      return Promise.reject(new EdgeError('EDGE_UPLINK_OFFLINE', 'uplink is not connected'));
    }
    const opts: IClientPublishOptions = { qos: 1 };
    if (correlationData && this.o.config.protocolVersion === 5) {
      opts.properties = { correlationData };
    }
    const sendable = this.oversize.reply(topic, payload, opts.properties?.correlationData?.length);
    if (sendable === null) {
      return Promise.reject(
        new EdgeError('EDGE_UPLINK_TOO_LARGE', 'reply exceeds the maximum packet size'),
      );
    }
    return new Promise((resolve, reject) => {
      client.publish(topic, sendable, opts, (err) => (err ? reject(err) : resolve()));
    });
  }

  private onAck(key: number): void {
    if (!this.inFlight.delete(key)) return;
    this.counters.acked++;
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
      this.ackTimer = setTimeout(() => {
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
      this.log.error({ err }, 'marking delivered failed');
    }
  }

  /** A publish without PUBACK for publishTimeoutMs: the connection is broken, start over. */
  private sweep(): void {
    const client = this.client;
    if (!client || this.state !== 'connected') return;
    const now = this.o.clock.monoMs();
    for (const sentAt of this.inFlight.values()) {
      if (now - sentAt > this.o.config.publishTimeoutMs) {
        this.counters.timeouts++;
        this.lastError = `no PUBACK within ${this.o.config.publishTimeoutMs} ms`;
        this.log.warn({ inFlight: this.inFlight.size }, 'publish timeout, reconnecting');
        this.drop(client);
        return;
      }
    }
  }

  stop(): Promise<void> {
    if (!this.stopPromise) {
      this.stopPromise = (async () => {
        this.unsubscribe?.();
        if (this.retryTimer) clearTimeout(this.retryTimer);
        if (this.sweepTimer) clearInterval(this.sweepTimer);
        if (this.replayTimer) clearTimeout(this.replayTimer);
        this.replayCursor = null;
        const client = this.client;
        this.client = null;
        this.state = 'stopped';
        if (this.ackTimer) clearTimeout(this.ackTimer);
        this.flushAcks();
        if (client) {
          client.removeAllListeners();
          client.on('error', () => {});
          if (client.connected) {
            await new Promise<void>((resolve) => {
              client.publish(
                this.statusTopic,
                this.statusPayload('offline'),
                { qos: 1, retain: true },
                () => resolve(),
              );
              setTimeout(resolve, 1000).unref();
            });
          }
          // a graceful end waits for the connection; a client still connecting is ended at once
          // (otherwise stop would wait out the connect timeout)
          const force = !client.connected;
          await new Promise<void>((resolve) => {
            client.end(force, {}, () => resolve());
            setTimeout(resolve, 2000).unref();
          });
        }
      })();
    }
    return this.stopPromise;
  }
}
