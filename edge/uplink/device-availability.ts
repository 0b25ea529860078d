import type { EdgeEvent } from '../events/model.js';

/**
 * The availability of every device the gateway knows: each driver and the gate controller (from
 * their health snapshots) and each line device whose link the engine watches (CT life bit,
 * scanner heartbeat: `alarm.device-lost` / `device.restored` events). Pure bookkeeping: the JSON
 * uplink publishes it as retained `devices/<id>/status` (device-status.ts), the Sparkplug uplink
 * as DBIRTH / DDEATH (sparkplug/).
 *
 *   driver state  running -> online; starting, degraded -> degraded; failed, stopping, stopped -> lost
 *   line device   ok -> online; not ok -> lost (with the engine's reason)
 */
export type Availability = 'online' | 'degraded' | 'lost';

export interface DeviceAvailabilityState {
  deviceId: string;
  kind: string;
  state: Availability;
  reason: string | null;
  /** wall-clock ISO time it entered `state` */
  since: string;
}

export interface HealthLike {
  id: string;
  kind: string;
  state: string;
  since?: string;
  lastError?: { message?: string } | string | null;
}

export function availabilityOf(state: string): Availability {
  if (state === 'running') return 'online';
  if (state === 'starting' || state === 'degraded') return 'degraded';
  return 'lost';
}

function errorText(e: HealthLike['lastError']): string | null {
  if (e == null) return null;
  return typeof e === 'string' ? e : (e.message ?? 'error');
}

export class DeviceAvailability {
  private readonly devices = new Map<string, DeviceAvailabilityState>();
  /** ids that come from health snapshots (a driver gone from the snapshot is forgotten) */
  private readonly fromHealth = new Set<string>();
  private readonly listeners = new Set<(d: DeviceAvailabilityState) => void>();

  constructor(private readonly wallMs: () => number) {}

  /** Called with every state that changed (state or reason). */
  onChange(listener: (d: DeviceAvailabilityState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  all(): DeviceAvailabilityState[] {
    return [...this.devices.values()];
  }

  get(deviceId: string): DeviceAvailabilityState | undefined {
    return this.devices.get(deviceId);
  }

  /**
   * Driver / gate controller health snapshots (polled, and on every driver.state event). A device
   * of an earlier snapshot that is not in this one (removed from the configuration) is forgotten.
   */
  refresh(healths: readonly HealthLike[]): void {
    const ids = new Set(healths.map((h) => h.id));
    for (const id of this.fromHealth) {
      if (ids.has(id)) continue;
      this.fromHealth.delete(id);
      this.devices.delete(id);
    }
    for (const h of healths) {
      this.fromHealth.add(h.id);
      const state = availabilityOf(h.state);
      const reason = state === 'online' ? null : (errorText(h.lastError) ?? h.state);
      this.set(h.id, h.kind, state, reason, h.since);
    }
  }

  /** Line devices from the engine's events. */
  observe(events: readonly Pick<EdgeEvent, 'type' | 'payload' | 'time'>[]): void {
    for (const e of events) {
      if (e.type !== 'alarm.device-lost' && e.type !== 'device.restored') continue;
      const p = e.payload as { deviceId?: unknown; role?: unknown; reason?: unknown };
      if (typeof p.deviceId !== 'string') continue;
      const ok = e.type === 'device.restored';
      this.set(
        p.deviceId,
        typeof p.role === 'string' ? p.role : 'device',
        ok ? 'online' : 'lost',
        ok ? null : typeof p.reason === 'string' ? p.reason : 'link lost',
        e.time,
      );
    }
  }

  private set(
    deviceId: string,
    kind: string,
    state: Availability,
    reason: string | null,
    since: string | undefined,
  ): void {
    const old = this.devices.get(deviceId);
    if (old && old.state === state && old.reason === reason && old.kind === kind) return;
    const next: DeviceAvailabilityState = {
      deviceId,
      kind,
      state,
      reason,
      since:
        old && old.state === state ? old.since : (since ?? new Date(this.wallMs()).toISOString()),
    };
    this.devices.set(deviceId, next);
    for (const l of this.listeners) l(next);
  }
}
