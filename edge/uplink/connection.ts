import { connect, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { UplinkConfig } from '../../config/schema.js';
import type { Clock, TimerHandle } from '../clock.js';
import { Backoff } from '../backoff.js';
import { connectOptions, type ConnectWill } from './connect-options.js';
import type { UplinkState, UplinkStats } from './health.js';

/**
 * The uplink's connection lifecycle: reconnects are ours (mqtt.js reconnectPeriod 0) with capped
 * backoff and jitter, and every connection is a new client so mqtt.js's in-memory store never
 * resends behind our back. Events of a client that is no longer the current one are ignored.
 */

export interface ConnectionHooks {
  /** The current client is connected (state, counters and backoff already updated). */
  connected(client: MqttClient, connack: IConnackPacket): void;
  /** A message arrived on the current client. */
  message(topic: string, payload: Buffer, packet: IPublishPacket): void;
  /** The current client was abandoned: nothing in flight on it will be acknowledged. */
  dropped(): void;
}

export interface ConnectionOptions {
  config: UplinkConfig;
  gatewayId: string;
  /** The last will (retained offline status, or Sparkplug's NDEATH), built for each new client. */
  will: () => ConnectWill;
  /** persistent (default) or clean (Sparkplug B requires a clean session) */
  session?: 'persistent' | 'clean';
  clock: Clock;
  log: Logger;
  stats: UplinkStats;
  hooks: ConnectionHooks;
  random?: () => number;
}

export class UplinkConnection {
  private client: MqttClient | null = null;
  private stateValue: UplinkState = 'idle';
  private retryTimer: TimerHandle | null = null;
  private retryAt: number | null = null;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(private readonly o: ConnectionOptions) {
    const { initialMs, maxMs, spreadMs } = o.config.backoff;
    // the first retry after a lost connection is spread over spreadMs (default maxMs / 2)
    this.backoff = new Backoff(initialMs, maxMs, o.random, spreadMs ?? Math.round(maxMs / 2));
  }

  get state(): UplinkState {
    return this.stateValue;
  }

  /** The client when connected, else null. */
  get live(): MqttClient | null {
    return this.client && this.stateValue === 'connected' ? this.client : null;
  }

  isCurrent(client: MqttClient): boolean {
    return this.client === client;
  }

  nextRetryInMs(): number | null {
    return this.retryAt === null
      ? null
      : Math.max(0, Math.round(this.retryAt - this.o.clock.monoMs()));
  }

  open(): void {
    if (this.stopped) return;
    this.stateValue = 'connecting';
    this.retryAt = null;
    const { config, stats, log, hooks } = this.o;
    let client: MqttClient;
    try {
      const options = connectOptions(config, this.o.gatewayId, this.o.will(), this.o.session);
      client = connect(config.url, options);
    } catch (err) {
      stats.lastError = (err as Error).message;
      log.error({ err }, 'uplink cannot connect');
      this.scheduleRetry();
      return;
    }
    this.client = client;
    client.on('connect', (connack) => {
      if (this.client !== client) return;
      this.stateValue = 'connected';
      stats.connects++;
      this.backoff.reset();
      stats.lastError = null;
      hooks.connected(client, connack);
    });
    client.on('message', (topic, payload, packet) => {
      if (this.client !== client) return;
      hooks.message(topic, payload, packet);
    });
    client.on('error', (err) => {
      if (this.client !== client) return;
      stats.lastError = err.message;
      log.warn(
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
  drop(client: MqttClient): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.stateValue === 'connected') this.o.stats.disconnects++;
    this.o.hooks.dropped();
    client.removeAllListeners();
    client.on('error', () => {}); // late errors of a dead client must not crash
    client.end(true);
    if (this.stopped) return;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = this.backoff.next();
    this.stateValue = 'backoff';
    this.retryAt = this.o.clock.monoMs() + delay;
    this.o.log.info(
      { delayMs: delay, attempt: this.backoff.attempts },
      'uplink reconnect scheduled',
    );
    this.retryTimer = this.o.clock.setTimer(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  /** No more attempts: cancels a scheduled retry and hands back the client to close, if any. */
  detach(): MqttClient | null {
    this.stopped = true;
    this.o.clock.clearTimer(this.retryTimer);
    const client = this.client;
    this.client = null;
    this.stateValue = 'stopped';
    return client;
  }
}

/**
 * Close a detached client: a connected one publishes the retained offline status first (at most
 * 1 s) and ends gracefully (at most 2 s); a client still connecting is ended at once (otherwise
 * stop would wait out the connect timeout).
 */
export async function closeClient(
  client: MqttClient,
  status: { topic: string; payload: string },
): Promise<void> {
  client.removeAllListeners();
  client.on('error', () => {});
  if (client.connected) {
    await new Promise<void>((resolve) => {
      client.publish(status.topic, status.payload, { qos: 1, retain: true }, () => resolve());
      setTimeout(resolve, 1000).unref();
    });
  }
  const force = !client.connected;
  await new Promise<void>((resolve) => {
    client.end(force, {}, () => resolve());
    setTimeout(resolve, 2000).unref();
  });
}
