import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { DeviceStatusSchema } from '../events/schema.js';
import type { Outbox } from '../outbox/outbox.js';
import {
  DeviceAvailability,
  type DeviceAvailabilityState,
  type HealthLike,
} from './device-availability.js';
import type { Topics } from './topics.js';
import type { Static } from 'typebox';

/**
 * Retained per-device availability on `<base>/devices/<id>/status` (QoS 1, retained), JSON
 * uplink. An MQTT will is one message, so the gateway's death cannot rewrite each device's
 * retained status; instead every status carries the `session` of the connection that published
 * it, the gateway status (`<base>/status`, whose will is the offline status) carries the same
 * session, and a device status counts only while the gateway status is online with that session.
 * After every connect: the online status, then every device's status with the new session, then
 * the retained statuses of devices the gateway no longer has are cleared (empty retained
 * message). Between connects a change is published as it happens (drivers polled every
 * `refreshMs`, line devices from the engine's device events). See docs/platform.md.
 */
export type DeviceStatusMessage = Static<typeof DeviceStatusSchema>;

export interface DeviceStatusOptions {
  topics: Topics;
  gatewayId: string;
  outbox: Outbox;
  healths: () => readonly HealthLike[];
  wallMs: () => number;
  log: Logger;
  refreshMs?: number;
}

export class DeviceStatusPublisher {
  readonly availability: DeviceAvailability;
  private client: MqttClient | null = null;
  private session = '';
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** retained statuses seen on subscribe, to clear those of devices no longer known */
  private collecting: Set<string> | null = null;
  published = 0;
  cleared = 0;

  constructor(private readonly o: DeviceStatusOptions) {
    this.availability = new DeviceAvailability(o.wallMs);
    this.availability.onChange((d) => this.publish(d));
  }

  start(): void {
    if (this.timer) return;
    this.unsubscribe = this.o.outbox.onCommitted((events) => {
      this.availability.observe(events);
      if (events.some((e) => e.type === 'driver.state')) this.refresh();
    });
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.o.refreshMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.client = null;
  }

  refresh(): void {
    try {
      this.availability.refresh(this.o.healths());
    } catch (err) {
      this.o.log.warn({ err }, 'device health snapshot failed');
    }
  }

  message(d: DeviceAvailabilityState, session = this.session): DeviceStatusMessage {
    return { schema: 1, gatewayId: this.o.gatewayId, ...d, session };
  }

  /** A device status message for this topic? (retained ones arriving after our subscribe) */
  handles(topic: string): boolean {
    return this.o.topics.deviceIdOf(topic) !== null;
  }

  received(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const id = this.o.topics.deviceIdOf(topic);
    if (id !== null && packet.retain && payload.length > 0) this.collecting?.add(id);
  }

  /** A new connection (its session id): every status again, then stale ones cleared. */
  connected(client: MqttClient, session: string): void {
    this.client = client;
    this.session = session;
    this.refresh();
    for (const d of this.availability.all()) this.publish(d);
    this.clearStale(client);
  }

  dropped(): void {
    this.client = null;
    this.collecting = null;
  }

  private publish(d: DeviceAvailabilityState): void {
    const client = this.client;
    if (!client) return; // published with everything else at the next connect
    client.publish(
      this.o.topics.device(d.deviceId),
      JSON.stringify(this.message(d)),
      { qos: 1, retain: true },
      (err) => {
        if (err) this.o.log.warn({ err, device: d.deviceId }, 'device status publish failed');
        else this.published++;
      },
    );
  }

  /**
   * Subscribe to every device status under this gateway, note the retained ones, unsubscribe (the
   * UNSUBACK comes after the retained messages the broker sent for the subscription), and clear
   * those of devices the gateway does not know now.
   */
  private clearStale(client: MqttClient): void {
    const seen = new Set<string>();
    this.collecting = seen;
    const filter = this.o.topics.deviceFilter;
    client.subscribe(filter, { qos: 1 }, (err) => {
      if (err || this.client !== client) return;
      client.unsubscribe(filter, () => {
        if (this.client !== client || this.collecting !== seen) return;
        this.collecting = null;
        for (const id of seen) {
          if (this.availability.get(id)) continue;
          client.publish(this.o.topics.device(id), '', { qos: 1, retain: true }, (e) => {
            if (!e) this.cleared++;
          });
          this.o.log.info({ device: id }, 'retained status of a device no longer known cleared');
        }
      });
    });
  }
}
