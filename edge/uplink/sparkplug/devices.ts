import type { DeviceAvailability, DeviceAvailabilityState } from '../device-availability.js';
import type { SparkplugMetrics } from './metrics.js';
import type { SparkplugPayload } from './codec.js';
import type { DeviceVerb } from './topics.js';

/**
 * Sparkplug devices of the edge node: a device that is online or degraded has had a DBIRTH in
 * this session; a lost one (or one no longer configured) gets a DDEATH; a change between online
 * and degraded is a DDATA. Everything goes out through `send` (which stamps the seq).
 */
export type DeviceSend = (verb: DeviceVerb, deviceId: string, payload: SparkplugPayload) => void;

export class SparkplugDevices {
  private readonly born = new Set<string>();

  constructor(
    private readonly availability: DeviceAvailability,
    private readonly metrics: SparkplugMetrics,
    private readonly now: () => number,
  ) {}

  get bornCount(): number {
    return this.born.size;
  }

  /** After the NBIRTH: a DBIRTH for every device that is not lost. */
  birth(send: DeviceSend): void {
    this.born.clear();
    for (const d of this.availability.all()) if (d.state !== 'lost') this.dbirth(d, send);
  }

  private dbirth(d: DeviceAvailabilityState, send: DeviceSend): void {
    const now = this.now();
    send('DBIRTH', d.deviceId, { timestamp: now, metrics: this.metrics.device(d, true, now) });
    this.born.add(d.deviceId);
  }

  /** A device's availability changed (session born). */
  changed(d: DeviceAvailabilityState, send: DeviceSend): void {
    const now = this.now();
    if (d.state === 'lost') {
      if (!this.born.delete(d.deviceId)) return;
      send('DDEATH', d.deviceId, { timestamp: now });
    } else if (!this.born.has(d.deviceId)) {
      this.dbirth(d, send);
    } else {
      send('DDATA', d.deviceId, { timestamp: now, metrics: this.metrics.device(d, false, now) });
    }
  }

  /** Devices born in this session that the gateway no longer has: DDEATH. */
  forgotten(send: DeviceSend): void {
    for (const id of [...this.born]) {
      if (this.availability.get(id)) continue;
      this.born.delete(id);
      send('DDEATH', id, { timestamp: this.now() });
    }
  }

  reset(): void {
    this.born.clear();
  }
}
