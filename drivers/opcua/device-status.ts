import type { Clock } from '../../edge/clock.js';
import type { DeviceStatusInput } from '../../edge/engine/types.js';
import type { OpcuaServerConfig } from './config-schema.js';
import { LifeBitWatch } from './life-bit.js';

/**
 * The devices behind one server and whether the engine may rely on them: a device is ok when
 * the server is connected and every life bit it has is toggling; lost on a dropped connection
 * or a stopped life bit (the engine then goes fail-safe for what depends on it). Transitions
 * only: an unknown state (connected, life bit not seen toggling yet) emits nothing.
 */
type Role = DeviceStatusInput['role'];

export class DeviceStatusTracker {
  private readonly lifeBits = new Map<
    string,
    { watch: LifeBitWatch; deviceId: string; role: Role }
  >();
  private readonly devices = new Map<string, Role>();
  private readonly lastOk = new Map<string, boolean>();

  constructor(
    config: OpcuaServerConfig,
    deviceId: string,
    private readonly clock: Clock,
    private readonly emit: (input: DeviceStatusInput) => void,
  ) {
    this.devices.set(deviceId, config.role);
    const now = clock.monoMs();
    for (const s of config.signals) {
      if (s.kind !== 'lifeBit') continue;
      const lb = {
        watch: new LifeBitWatch(s.lifeBitTimeoutMs, now),
        deviceId: s.deviceId ?? deviceId,
        role: s.role ?? config.role,
      };
      this.lifeBits.set(s.name, lb);
      if (!this.devices.has(lb.deviceId)) this.devices.set(lb.deviceId, lb.role);
    }
  }

  /** A life-bit value arrived; true if it was one. */
  observe(signal: string, value: unknown): boolean {
    const lb = this.lifeBits.get(signal);
    if (!lb) return false;
    lb.watch.observe(value, this.clock.monoMs());
    return true;
  }

  /** Check life-bit timeouts; returns the devices whose bit just stopped. */
  check(): string[] {
    const now = this.clock.monoMs();
    const stopped: string[] = [];
    for (const lb of this.lifeBits.values()) if (lb.watch.check(now)) stopped.push(lb.deviceId);
    return stopped;
  }

  connectionLost(): void {
    for (const lb of this.lifeBits.values()) lb.watch.connectionLost('connection lost');
  }

  connected(): void {
    const now = this.clock.monoMs();
    for (const lb of this.lifeBits.values()) lb.watch.reset(now);
  }

  /** Emit the transitions. `link` is null while the link state says nothing (never tried). */
  evaluate(link: 'up' | 'down' | null, reason: string): void {
    for (const [deviceId, role] of this.devices) {
      const watches = [...this.lifeBits.values()].filter((l) => l.deviceId === deviceId);
      let ok: boolean | null;
      let why = reason;
      if (link !== 'up') ok = link === 'down' ? false : null;
      else if (watches.some((w) => w.watch.current === 'lost')) {
        ok = false;
        why = 'life bit stopped';
      } else if (watches.every((w) => w.watch.current === 'alive')) ok = true;
      else ok = null;
      if (ok === null || this.lastOk.get(deviceId) === ok) continue;
      this.lastOk.set(deviceId, ok);
      this.emit({
        type: 'deviceStatus',
        deviceId,
        atMono: this.clock.monoMs(),
        role,
        ok,
        reason: ok ? (watches.length > 0 ? 'life bit toggling' : 'connected') : why,
      });
    }
  }
}
