import type { Logger } from 'pino';
import { TELEMETRY_TYPE } from '../events/model.js';
import type { Outbox } from '../outbox/outbox.js';
import type { UplinkHealth } from '../uplink/uplink.js';
import { LineKpis } from './line-kpis.js';
import { TELEMETRY_PAYLOAD_VERSION, type TelemetryPayload } from './schema.js';
import type { SystemProbe } from './system-probe.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * Every `intervalMs`, one `telemetry` event into the outbox (stream `telemetry`, lowest priority
 * under the disk quota, published on `<base>/telemetry` at the configured QoS).
 */
export interface DeviceHealthLike {
  id: string;
  kind: string;
  state: string;
  lastError?: { message?: string } | string | null;
}

export interface TelemetryOptions {
  intervalMs: number;
  outbox: Outbox;
  probe: SystemProbe;
  devices: () => readonly DeviceHealthLike[];
  uplink: () => UplinkHealth | null;
  monoMs: () => number;
  atMono: () => number;
  log: Logger;
}

export class TelemetryPublisher {
  readonly kpis: LineKpis;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  samples = 0;

  constructor(private readonly o: TelemetryOptions) {
    this.kpis = new LineKpis(o.monoMs);
  }

  start(): void {
    if (this.timer) return;
    this.unsubscribe = this.o.outbox.onCommitted((events) => this.kpis.observe(events));
    this.o.probe.sample(); // prime the CPU counters
    this.timer = setInterval(() => this.publish(), this.o.intervalMs);
    this.timer.unref();
  }

  collect(): TelemetryPayload {
    const ob = this.o.outbox.stats();
    const up = this.o.uplink();
    return {
      v: TELEMETRY_PAYLOAD_VERSION,
      system: this.o.probe.sample(),
      line: this.kpis.snapshot(),
      outbox: {
        pending: ob.pending,
        delivered: ob.delivered,
        droppedTelemetry: ob.dropped.telemetry,
        droppedOperational: ob.dropped.operational,
        droppedRecords: ob.dropped.records,
        alarms: ob.alarms,
        bytes: ob.bytes,
        maxBytes: Math.min(ob.maxBytes, Number.MAX_SAFE_INTEGER),
        fileBytes: ob.fileBytes,
        parked: ob.parked,
      },
      uplink: {
        state: up?.state ?? 'none',
        inFlight: up?.inFlight ?? 0,
        window: up?.window ?? 0,
        connects: up?.connects ?? 0,
        disconnects: up?.disconnects ?? 0,
        parkedOversize: up?.parkedOversize ?? 0,
        telemetryDroppedOversize: up?.telemetryDroppedOversize ?? 0,
      },
      devices: this.o.devices().map((d) => ({
        id: d.id,
        kind: d.kind,
        state: d.state,
        lastError:
          d.lastError == null
            ? null
            : typeof d.lastError === 'string'
              ? d.lastError
              : (d.lastError.message ?? 'error'),
      })),
    };
  }

  publish(): void {
    let payload: TelemetryPayload;
    try {
      payload = this.collect();
    } catch (err) {
      this.o.log.warn({ err }, 'telemetry sample failed');
      return;
    }
    this.samples++;
    this.o.outbox
      .append([eventDraft(TELEMETRY_TYPE, null, this.o.atMono(), payload)])
      .catch((err: unknown) => this.o.log.warn({ err }, 'telemetry not recorded'));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}
