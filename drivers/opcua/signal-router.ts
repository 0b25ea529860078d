import type { Logger } from 'pino';
import type { Clock } from '../../edge/clock.js';
import type { EngineInput } from '../../edge/engine/types.js';
import type { SignalHealth } from './api.js';
import type { OpcuaServerConfig, OpcuaSignalConfig } from './config-schema.js';
import type { DeviceStatusTracker } from './device-status.js';
import { IdentifierValidator } from '../../edge/identifiers/carriers.js';
import { mapDataChange, mapEvent, type FieldKey, type IdCheck } from './signal-mapping.js';

/**
 * Notifications of one server's monitored items -> engine inputs, plus per-signal health
 * (state, revised sampling, values, last value time, overflows). Synchronous on purpose: an
 * event is mapped and emitted in the same tick node-opcua hands it over.
 */
export interface RouterDeps {
  clock: Clock;
  log: Logger;
  deviceId: string;
  devices: DeviceStatusTracker;
  emit(input: EngineInput): void;
  lifeBitSeen(): void;
  /** values were lost: raised at most once per ALARM_EVERY_MS per signal, with the count */
  overflowAlarm(signal: string, overflowsSinceLastAlarm: number, total: number): void;
}

const ALARM_EVERY_MS = 10_000;

export class SignalRouter {
  readonly signals = new Map<string, SignalHealth>();
  overflows = 0;
  private readonly photoEyeLast = new Map<string, boolean>();
  /**
   * tracking ids: the first value of a subscription (again after a reconnect) is the PLC's
   * current id, not an induction; a repeated value is the same parcel
   */
  private readonly trackingIdLast = new Map<string, string>();
  /** barcode signals: the identifier check every waybill source shares (edge/identifiers) */
  private readonly idChecks = new Map<string, IdCheck>();
  private readonly alarmed = new Map<string, { atMono: number; counted: number }>();

  constructor(
    config: OpcuaServerConfig,
    private readonly deps: RouterDeps,
  ) {
    for (const s of config.signals) {
      if (s.kind === 'barcode') {
        const validator = new IdentifierValidator({
          s10: true,
          carriers: [],
          acceptUnmatched: false,
          ...s.identifiers,
        });
        this.idChecks.set(s.name, (code) => validator.check(code));
      }
      this.signals.set(s.name, {
        name: s.name,
        kind: s.kind,
        nodeId: s.nodeId ?? s.browsePath ?? null,
        state: 'pending',
        samplingIntervalMs: null,
        queueSize: null,
        error: null,
        values: 0,
        lastValueAt: null,
        overflows: 0,
        unmapped: 0,
      });
    }
  }

  health(): SignalHealth[] {
    return [...this.signals.values()].map((s) => ({ ...s }));
  }

  failedSignalError(): { code: string; message: string } | null {
    const failed = [...this.signals.values()].filter((s) => s.state === 'error');
    if (failed.length === 0) return null;
    return {
      code: 'EDGE_OPCUA_SIGNAL',
      message: failed.map((s) => `${s.name}: ${s.error ?? ''}`).join('; '),
    };
  }

  monitoring(
    signal: OpcuaSignalConfig,
    nodeId: string,
    revised: { samplingIntervalMs: number | null; queueSize: number | null },
  ): void {
    const h = this.signals.get(signal.name);
    if (!h) return;
    h.state = 'monitoring';
    h.nodeId = nodeId;
    h.error = null;
    h.samplingIntervalMs = revised.samplingIntervalMs;
    h.queueSize = revised.queueSize;
  }

  failed(signal: OpcuaSignalConfig, err: Error): void {
    const h = this.signals.get(signal.name);
    if (h) {
      h.state = 'error';
      h.error = err.message;
    }
    this.deps.log.error({ signal: signal.name, err }, 'OPC UA signal not monitored');
  }

  overflow(signal: OpcuaSignalConfig): void {
    this.overflows++;
    const h = this.signals.get(signal.name);
    if (h) h.overflows++;
    this.alarmOverflows(signal.name, h?.overflows ?? this.overflows);
  }

  /** Overflows counted inside the quiet window after an alarm get their own alarm when it ends. */
  flushOverflowAlarms(): void {
    for (const [name, h] of this.signals) {
      const last = this.alarmed.get(name);
      if (last && h.overflows > last.counted) this.alarmOverflows(name, h.overflows);
    }
  }

  private alarmOverflows(name: string, total: number): void {
    const now = this.deps.clock.monoMs();
    const last = this.alarmed.get(name);
    if (last && now - last.atMono < ALARM_EVERY_MS) return;
    this.alarmed.set(name, { atMono: now, counted: total });
    this.deps.overflowAlarm(name, total - (last?.counted ?? 0), total);
  }

  private touch(signal: OpcuaSignalConfig): void {
    const h = this.signals.get(signal.name);
    if (!h) return;
    h.values++;
    h.lastValueAt = new Date(this.deps.clock.wallMs()).toISOString();
  }

  event(
    signal: OpcuaSignalConfig,
    fields: Partial<Record<FieldKey, unknown>>,
    timeMs: number | null,
  ): void {
    this.touch(signal);
    const checkId = this.idChecks.get(signal.name);
    const mapped = mapEvent(signal, fields, {
      clock: this.deps.clock,
      deviceId: signal.deviceId ?? this.deps.deviceId,
      eventTimeMs: timeMs,
      ...(checkId ? { checkId } : {}),
    });
    if (mapped) {
      this.deps.emit(mapped.input);
      return;
    }
    // nothing usable (no tracking id / waybill, a structure the server's data types did not
    // decode): counted per signal, logged on the first and every 100th, never silently dropped
    const h = this.signals.get(signal.name);
    const n = h ? ++h.unmapped : 1;
    if (n === 1 || n % 100 === 0) {
      this.deps.log.warn(
        { signal: signal.name, unmapped: n, fields: Object.keys(fields) },
        'OPC UA event carried no usable identifier: not mapped',
      );
    }
  }

  dataChange(signal: OpcuaSignalConfig, value: unknown, sourceTimeMs: number | null): void {
    this.touch(signal);
    if (this.deps.devices.observe(signal.name, value)) {
      this.deps.lifeBitSeen();
      return;
    }
    if (signal.kind === 'photoEye') {
      const blocked = Boolean(typeof value === 'number' ? value !== 0 : value);
      const last = this.photoEyeLast.get(signal.name);
      this.photoEyeLast.set(signal.name, blocked);
      // the first value of a subscription is the current state, not an edge
      if (last === undefined || last === blocked) return;
    }
    if (signal.kind === 'trackingId') {
      const last = this.trackingIdLast.get(signal.name);
      const now = String(value);
      this.trackingIdLast.set(signal.name, now);
      if (last === undefined || last === now) return;
    }
    const checkId = this.idChecks.get(signal.name);
    const input = mapDataChange(signal, value, {
      clock: this.deps.clock,
      deviceId: signal.deviceId ?? this.deps.deviceId,
      sourceTimeMs,
      ...(checkId ? { checkId } : {}),
    });
    if (input) this.deps.emit(input);
  }
}
