import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { UplinkConfig } from '../../config/schema.js';
import type { Clock } from '../clock.js';
import type { EdgeEvent } from '../events/model.js';
import type { Outbox } from '../outbox/outbox.js';
import { Backoff } from './backoff.js';

/**
 * Publishes the outbox to the central platform over MQTT, QoS 1, in sequence order.
 * - A row is marked delivered only on its PUBACK.
 * - At most `inFlightWindow` publishes are unacknowledged at once.
 * - Reconnects are ours (mqtt.js reconnectPeriod 0) with capped backoff and jitter; every
 *   connection is a new client so mqtt.js's in-memory store never resends behind our back; after
 *   a reconnect, publishing resumes from the oldest undelivered row (duplicates keep their id).
 */

export type UplinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface UplinkHealth {
  state: UplinkState;
  url: string;
  connects: number;
  disconnects: number;
  inFlight: number;
  published: number;
  acked: number;
  timeouts: number;
  lastError: string | null;
  nextRetryInMs: number | null;
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

export function topicBase(
  config: Pick<UplinkConfig, 'topicRoot'>,
  site: string,
  gatewayId: string,
): string {
  return `${config.topicRoot}/${site}/${gatewayId}`;
}

export class Uplink {
  private client: MqttClient | null = null;
  private state: UplinkState = 'idle';
  private readonly inFlight = new Map<number, number>(); // seq -> sent at (mono)
  private cursor = 0;
  private readonly ackBuffer: number[] = [];
  private ackFlushScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private retryAt: number | null = null;
  private readonly backoff: Backoff;
  private readonly base: string;
  private unsubscribe: (() => void) | null = null;
  private stopPromise: Promise<void> | null = null;
  private readonly counters = { connects: 0, disconnects: 0, published: 0, acked: 0, timeouts: 0 };
  private lastError: string | null = null;
  private readonly log: Logger;

  constructor(private readonly o: UplinkOptions) {
    this.log = o.log;
    this.backoff = new Backoff(o.config.backoff.initialMs, o.config.backoff.maxMs, o.random);
    this.base = topicBase(o.config, o.site, o.gatewayId);
  }

  topicFor(event: Pick<EdgeEvent, 'type'>): string {
    return `${this.base}/events/${event.type}`;
  }

  get statusTopic(): string {
    return `${this.base}/status`;
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
      ...this.counters,
      inFlight: this.inFlight.size,
      lastError: this.lastError,
      nextRetryInMs:
        this.retryAt === null
          ? null
          : Math.max(0, Math.round(this.retryAt - this.o.clock.monoMs())),
    };
  }

  private statusPayload(state: 'online' | 'offline'): string {
    return JSON.stringify({
      schema: 1,
      state,
      gatewayId: this.o.gatewayId,
      version: this.o.version,
      startedAt: this.o.startedAt,
    });
  }

  private open(): void {
    if (this.stopPromise) return;
    this.state = 'connecting';
    this.retryAt = null;
    const { config } = this.o;
    const options: IClientOptions = {
      clientId: this.o.gatewayId,
      protocolVersion: config.protocolVersion,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: config.keepaliveS,
      queueQoSZero: false,
      will: {
        topic: this.statusTopic,
        payload: Buffer.from(this.statusPayload('offline')),
        qos: 1,
        retain: true,
      },
    };
    if (config.protocolVersion === 5) options.properties = { sessionExpiryInterval: 7 * 24 * 3600 };
    if (config.username !== undefined) options.username = config.username;
    if (config.password !== undefined) options.password = config.password;
    const client = connect(config.url, options);
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.state = 'connected';
      this.counters.connects++;
      this.backoff.reset();
      this.lastError = null;
      this.inFlight.clear();
      this.cursor = 0;
      this.log.info({ url: redactUrl(config.url) }, 'uplink connected');
      client.publish(
        this.statusTopic,
        this.statusPayload('online'),
        { qos: 1, retain: true },
        (err) => {
          if (err) this.log.warn({ err }, 'status publish failed');
        },
      );
      this.pump();
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
    const delay = this.backoff.next();
    this.state = 'backoff';
    this.retryAt = this.o.clock.monoMs() + delay;
    this.log.info({ delayMs: delay, attempt: this.backoff.attempts }, 'uplink reconnect scheduled');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  /** Fill the in-flight window from the outbox, in sequence order. */
  private pump(): void {
    const client = this.client;
    if (!client || this.state !== 'connected') return;
    const window = this.o.config.inFlightWindow;
    while (this.inFlight.size < window) {
      const batch = this.o.outbox.pending(this.cursor, window - this.inFlight.size);
      if (batch.length === 0) return;
      for (const event of batch) {
        this.cursor = event.seq;
        this.inFlight.set(event.seq, this.o.clock.monoMs());
        this.counters.published++;
        client.publish(this.topicFor(event), JSON.stringify(event), { qos: 1 }, (err) => {
          if (this.client !== client) return;
          if (err) {
            this.lastError = err.message;
            this.drop(client);
            return;
          }
          this.onAck(event.seq);
        });
      }
    }
  }

  private onAck(seq: number): void {
    if (!this.inFlight.delete(seq)) return;
    this.counters.acked++;
    this.ackBuffer.push(seq);
    if (!this.ackFlushScheduled) {
      this.ackFlushScheduled = true;
      setImmediate(() => {
        this.ackFlushScheduled = false;
        const seqs = this.ackBuffer.splice(0);
        try {
          this.o.outbox.markDelivered(seqs);
        } catch (err) {
          this.log.error({ err }, 'marking delivered failed');
        }
        this.pump();
      });
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
        const client = this.client;
        this.client = null;
        this.state = 'stopped';
        if (this.ackBuffer.length > 0) this.o.outbox.markDelivered(this.ackBuffer.splice(0));
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
          await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
        }
      })();
    }
    return this.stopPromise;
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
