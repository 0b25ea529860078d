import type { Stream } from '../events/model.js';

/**
 * The topic tree of the platform contract (see edge/uplink/asyncapi.yaml):
 *   <root>/<site>/<gateway>/events/<type>      event envelopes, QoS 1, in seq order
 *   <root>/<site>/<gateway>/telemetry          telemetry envelopes, QoS 0 or 1
 *   <root>/<site>/<gateway>/status             retained online / offline (last will)
 *   <root>/<site>/<gateway>/devices/<id>/status retained availability of each device
 *   <root>/<site>/<gateway>/commands/<name>    commands from the platform (QoS 1)
 *   <root>/<site>/<gateway>/replies/<name>     replies when the command carried no MQTT 5
 *                                              response topic (the MQTT 3.1.1 fallback)
 */
export class Topics {
  readonly base: string;

  constructor(
    root: string,
    readonly site: string,
    readonly gatewayId: string,
  ) {
    this.base = `${root}/${site}/${gatewayId}`;
  }

  event(type: string, stream: Stream): string {
    return stream === 'telemetry' ? this.telemetry : `${this.base}/events/${type}`;
  }

  get telemetry(): string {
    return `${this.base}/telemetry`;
  }

  get status(): string {
    return `${this.base}/status`;
  }

  get commandFilter(): string {
    return `${this.base}/commands/+`;
  }

  command(name: string): string {
    return `${this.base}/commands/${name}`;
  }

  /** The command name of a commands/<name> topic, or null for any other topic. */
  commandName(topic: string): string | null {
    const prefix = `${this.base}/commands/`;
    if (!topic.startsWith(prefix)) return null;
    const name = topic.slice(prefix.length);
    return name.length > 0 && !name.includes('/') ? name : null;
  }

  reply(name: string): string {
    return `${this.base}/replies/${name}`;
  }

  /** Retained availability of one device (device-status.ts). */
  device(deviceId: string): string {
    return `${this.base}/devices/${deviceId}/status`;
  }

  get deviceFilter(): string {
    return `${this.base}/devices/+/status`;
  }

  /** The device id of a devices/<id>/status topic, or null for any other topic. */
  deviceIdOf(topic: string): string | null {
    const prefix = `${this.base}/devices/`;
    if (!topic.startsWith(prefix) || !topic.endsWith('/status')) return null;
    const id = topic.slice(prefix.length, -'/status'.length);
    return id.length > 0 && !id.includes('/') ? id : null;
  }
}
