import type { IClientPublishOptions, IConnackPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { UplinkConfig } from '../../config/schema.js';
import type { Clock, TimerHandle } from '../clock.js';
import { EdgeError } from '../errors.js';
import type { StatusMessage, Stream } from '../events/model.js';
import type { Outbox } from '../outbox/outbox.js';
import { closeClient, UplinkConnection } from './connection.js';
import { redactUrl } from './connect-options.js';
import { UuidV7Generator } from '../events/uuidv7.js';
import type { HealthLike } from './device-availability.js';
import { DeviceStatusPublisher } from './device-status.js';
import { newUplinkStats, type UplinkHealth, type UplinkStats } from './health.js';
import { dispatchInbound, type InboundHandler } from './inbound.js';
import { OversizeGuard } from './oversize.js';
import { PublishWindow } from './publish-window.js';
import { Topics } from './topics.js';

export type { UplinkHealth, UplinkState } from './health.js';
export type { InboundMessage } from './inbound.js';

/**
 * Publishes the outbox to the central platform over MQTT (5 or 3.1.1), in commit order.
 * - Events QoS 1; telemetry QoS 0 or 1 (config). A row is marked delivered only on its PUBACK
 *   (QoS 0: once written to the socket).
 * - At most `window` publishes unacknowledged: the configured inFlightWindow, lowered to the
 *   broker's Receive Maximum read from the MQTT 5 CONNACK (publish-window.ts).
 * - Reconnects are ours (mqtt.js reconnectPeriod 0) with capped backoff and jitter; every
 *   connection is a new client so mqtt.js's in-memory store never resends behind our back; after
 *   a reconnect, publishing resumes from the oldest undelivered row (duplicates keep their id)
 *   (connection.ts).
 * - Persistent session (clean false; MQTT 5 session expiry), client id = gateway id, last will =
 *   retained offline status, retained online status on connect.
 * - Commands arrive on commands/+ and go to the registered handler (inbound.ts); replies are
 *   published by publishReply(); the command router stores each reply and delivers one that could
 *   not be published on a later connect (edge/commands/reply-delivery.ts).
 * - Nothing larger than the broker's Maximum Packet Size (CONNACK, or uplink.maxPacketBytes) is
 *   sent: such a row is parked with an alarm event and the stream goes on (see oversize.ts).
 */

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
  /** health snapshots of the devices (drivers, gate controller): retained devices/<id>/status */
  devices?: () => readonly HealthLike[];
}

export class Uplink {
  readonly topics: Topics;
  private readonly connection: UplinkConnection;
  private readonly window: PublishWindow;
  private sweepTimer: TimerHandle | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopPromise: Promise<void> | null = null;
  private messageHandler: InboundHandler | null = null;
  private readonly connectListeners = new Set<() => void>();
  private readonly stats: UplinkStats = newUplinkStats();
  private readonly log: Logger;
  private readonly oversize: OversizeGuard;
  /** retained per-device availability; null when no device snapshot is wired */
  readonly deviceStatus: DeviceStatusPublisher | null;
  /** id of the current connection (a new one per connect attempt; also in its will) */
  private session = '';
  private readonly sessionIds: UuidV7Generator;

  constructor(private readonly o: UplinkOptions) {
    this.log = o.log;
    this.oversize = new OversizeGuard({
      configuredMaxBytes: o.config.maxPacketBytes,
      protocolVersion: o.config.protocolVersion,
      outbox: o.outbox,
      clock: o.clock,
      log: o.log,
    });
    this.topics = new Topics(o.config.topicRoot, o.site, o.gatewayId);
    this.sessionIds = new UuidV7Generator(o.clock.wallMs);
    this.deviceStatus = o.devices
      ? new DeviceStatusPublisher({
          topics: this.topics,
          gatewayId: o.gatewayId,
          outbox: o.outbox,
          healths: o.devices,
          wallMs: o.clock.wallMs,
          log: o.log,
        })
      : null;
    this.connection = new UplinkConnection({
      config: o.config,
      gatewayId: o.gatewayId,
      will: () => {
        this.session = this.sessionIds.next();
        return { topic: this.statusTopic, payload: this.statusPayload('offline') };
      },
      clock: o.clock,
      log: o.log,
      stats: this.stats,
      random: o.random,
      hooks: {
        connected: (client, connack) => this.onConnect(client, connack),
        message: (topic, payload, packet) => {
          if (this.deviceStatus?.handles(topic)) {
            this.deviceStatus.received(topic, payload, packet);
            return;
          }
          if (!this.messageHandler) return;
          dispatchInbound(this.messageHandler, topic, payload, packet, this.log);
        },
        dropped: () => {
          this.window.dropped();
          this.deviceStatus?.dropped();
        },
      },
    });
    this.window = new PublishWindow({
      config: o.config,
      gatewayId: o.gatewayId,
      outbox: o.outbox,
      clock: o.clock,
      log: o.log,
      stats: this.stats,
      oversize: this.oversize,
      link: this.connection,
      topicFor: (event) => this.topicFor(event),
    });
  }

  topicFor(event: { type: string; stream?: Stream }): string {
    return this.topics.event(event.type, event.stream ?? 'events');
  }

  get statusTopic(): string {
    return this.topics.status;
  }

  get connected(): boolean {
    return this.connection.state === 'connected';
  }

  /** Commands (and anything else arriving on commands/+) go to this handler. */
  onMessage(handler: InboundHandler): void {
    this.messageHandler = handler;
  }

  onConnected(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  start(): void {
    if (this.connection.state !== 'idle') return;
    this.unsubscribe = this.o.outbox.onCommitted(() => this.window.pump());
    this.deviceStatus?.start();
    this.sweepTimer = this.o.clock.setRepeatingTimer(
      () => this.window.sweep(),
      Math.min(1000, this.o.config.publishTimeoutMs / 2),
    );
    this.connection.open();
  }

  health(): UplinkHealth {
    const s = this.stats;
    return {
      state: this.connection.state,
      url: redactUrl(this.o.config.url),
      protocolVersion: this.o.config.protocolVersion,
      connects: s.connects,
      disconnects: s.disconnects,
      published: s.published,
      acked: s.acked,
      timeouts: s.timeouts,
      replayed: s.replayed,
      maxInFlightSeen: s.maxInFlightSeen,
      inFlight: this.window.inFlightCount,
      window: this.window.size,
      receiveMaximum: this.window.receiveMaximum,
      replayActive: this.window.replayActive,
      lastError: s.lastError,
      ...this.oversize.health(),
      nextRetryInMs: this.connection.nextRetryInMs(),
    };
  }

  statusPayload(state: 'online' | 'offline'): string {
    const status: StatusMessage = {
      schema: 1,
      state,
      gatewayId: this.o.gatewayId,
      version: this.o.version,
      startedAt: this.o.startedAt,
      session: this.session,
    };
    return JSON.stringify(status);
  }

  /** A new session: window reset, online status, command subscription, listeners, publishing. */
  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    const { config } = this.o;
    this.window.connected(connack.properties?.receiveMaximum);
    this.oversize.limit.setBroker(connack.properties?.maximumPacketSize);
    this.log.info(
      {
        url: redactUrl(config.url),
        window: this.window.size,
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
    this.deviceStatus?.connected(client, this.session);
    if (this.messageHandler) {
      client.subscribe(this.topics.commandFilter, { qos: 1 }, (err) => {
        if (err) this.log.warn({ err }, 'command subscription failed');
      });
    }
    for (const l of this.connectListeners) l();
    this.window.pump();
  }

  /**
   * Re-send stored events of `stream` with fromSeq <= seq <= toSeq (at most maxEvents, paced at
   * eventsPerS). Returns false when a replay is already running.
   */
  replay(stream: Stream, fromSeq: number, toSeq: number, maxEvents: number): boolean {
    if (this.stopPromise) return false;
    return this.window.replay(stream, fromSeq, toSeq, maxEvents);
  }

  /** Publish a command reply, QoS 1; resolves on PUBACK. */
  publishReply(topic: string, payload: string, correlationData?: Buffer): Promise<void> {
    const client = this.connection.live;
    if (!client) {
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
    // a connection that dies under the publish may never call back (the old client is ended and
    // a new one made): without a PUBACK in publishTimeoutMs the reply counts as not published,
    // the router keeps it unpublished and delivers it late
    const timeoutMs = this.o.config.publishTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = this.o.clock.setTimer(
        () =>
          reject(
            new EdgeError('EDGE_UPLINK_TIMEOUT', `no PUBACK for the reply in ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      client.publish(topic, sendable, opts, (err) => {
        this.o.clock.clearTimer(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  stop(): Promise<void> {
    if (!this.stopPromise) {
      this.stopPromise = (async () => {
        this.unsubscribe?.();
        this.deviceStatus?.stop();
        this.o.clock.clearTimer(this.sweepTimer);
        this.window.stopReplay();
        const client = this.connection.detach();
        this.window.stopAcks();
        if (client) {
          await closeClient(client, {
            topic: this.statusTopic,
            payload: this.statusPayload('offline'),
          });
        }
      })();
    }
    return this.stopPromise;
  }
}
