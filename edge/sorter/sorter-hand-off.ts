import type { Logger } from 'pino';
import { isOpcuaControl, type HandOffAck } from '../../drivers/opcua/api.js';
import type { Clock } from '../clock.js';
import type { PlcDivertCommand } from '../engine/types.js';
import { isEdgeError } from '../errors.js';
import type { EventDraft } from '../events/model.js';

/**
 * Hands the engine's PLC decisions to the sorter PLC (the OPC UA server `plcId`, its `decision`
 * output) and makes sure each one is acknowledged before the parcel reaches the decision point:
 * - an acknowledged hand-off is `plc.handoff` (with the key the PLC knows, how it acknowledged,
 *   how long it took and the slack left);
 * - an acknowledgement after the decision point is `plc.handoff_late` and `alarm.plc-handoff-late`;
 * - a failed or unacknowledged attempt is retried (backoff 50 ms doubling to 400 ms) while it can
 *   still arrive in time; then `plc.handoff_failed` and `alarm.plc-handoff-unacked`: the parcel
 *   goes wherever the PLC sends parcels it has no destination for;
 * - a newer hand-off for the same parcel (a revised decision) replaces a pending one;
 * - a provisional hand-off (inspection, before the decision) that fails or comes late raises no
 *   alarm: the decision's own hand-off follows.
 * Health is degraded while hand-offs fail or come late (for a minute after the last one).
 */
export interface SorterHandOffOptions {
  drivers: () => readonly unknown[];
  /** the name of the `decision` output of an OPC UA server, from the configuration */
  decisionOutput: (serverId: string) => string | null;
  record: (events: EventDraft[]) => void;
  clock: Clock;
  log: Logger;
  timers?: { set(fn: () => void, ms: number): unknown; clear(handle: unknown): void };
  retry?: { initialMs: number; maxMs: number };
}

export interface SorterHandOffHealth {
  state: 'idle' | 'ok' | 'degraded';
  lastError: { code: string; message: string; atWall: string } | null;
  counters: {
    sent: number;
    acknowledged: number;
    retries: number;
    late: number;
    failed: number;
    superseded: number;
  };
  /** issue (engine) to acknowledgement, over the last 1,000 hand-offs */
  ackP50Ms: number | null;
  ackP99Ms: number | null;
  pending: number;
}

/** errors a retry cannot fix: the configuration or the parcel is the problem */
const FINAL_CODES = new Set(['EDGE_PLC_NO_KEY', 'EDGE_PLC_DESTINATION', 'EDGE_OPCUA_UNKNOWN_NAME']);
const DEGRADED_FOR_MS = 60_000;

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? null;
}

interface Pending {
  command: PlcDivertCommand;
  attempts: number;
  timer: unknown;
}

const defaultTimers = {
  set: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clear: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
};

export class SorterHandOff {
  private readonly pending = new Map<string, Pending>();
  /** the destination the PLC acknowledged last, per parcel (bounded, oldest forgotten first) */
  private readonly acked = new Map<string, { destination: number | string; seq: number }>();
  private readonly ackTimes: number[] = [];
  private readonly counters: SorterHandOffHealth['counters'] = {
    sent: 0,
    acknowledged: 0,
    retries: 0,
    late: 0,
    failed: 0,
    superseded: 0,
  };
  private lastTroubleMono: number | null = null;
  private lastError: SorterHandOffHealth['lastError'] = null;
  private stopped = false;
  private readonly timers: NonNullable<SorterHandOffOptions['timers']>;
  private readonly retry: { initialMs: number; maxMs: number };

  constructor(private readonly o: SorterHandOffOptions) {
    this.timers = o.timers ?? defaultTimers;
    this.retry = o.retry ?? { initialMs: 50, maxMs: 400 };
  }

  send(command: PlcDivertCommand): void {
    if (this.stopped) return;
    const previous = this.pending.get(command.parcelId);
    if (previous) {
      if (previous.command.seq > command.seq) return; // an older decision arriving late
      this.timers.clear(previous.timer);
      this.counters.superseded++;
    }
    const had = this.acked.get(command.parcelId);
    if (
      !previous &&
      command.action === 'divert' &&
      had !== undefined &&
      had.destination === command.destination
    ) {
      // the PLC has this destination already (the provisional inspection hand-off)
      this.pending.delete(command.parcelId);
      this.o.record([
        {
          type: 'plc.handoff',
          parcelId: command.parcelId,
          atMono: this.o.clock.monoMs(),
          payload: { ...this.base(command), via: 'unchanged', attempts: 0, ackedSeq: had.seq },
        },
      ]);
      return;
    }
    const entry: Pending = { command, attempts: 0, timer: null };
    this.pending.set(command.parcelId, entry);
    this.counters.sent++;
    this.attempt(entry);
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.pending.values()) this.timers.clear(p.timer);
    this.pending.clear();
  }

  health(): SorterHandOffHealth {
    const sorted = [...this.ackTimes].sort((a, b) => a - b);
    const now = this.o.clock.monoMs();
    const troubled = this.lastTroubleMono !== null && now - this.lastTroubleMono < DEGRADED_FOR_MS;
    const retrying = [...this.pending.values()].some((p) => p.attempts > 1);
    return {
      state: troubled || retrying ? 'degraded' : this.counters.sent === 0 ? 'idle' : 'ok',
      lastError: this.lastError,
      counters: { ...this.counters },
      ackP50Ms: percentile(sorted, 0.5),
      ackP99Ms: percentile(sorted, 0.99),
      pending: this.pending.size,
    };
  }

  private base(c: PlcDivertCommand) {
    return {
      plcId: c.plcId,
      gateId: c.gateId,
      action: c.action,
      lane: c.action === 'revoke' ? 'inspection' : c.outlet,
      destination: c.destination,
      waybill: c.keys.waybill,
      seq: c.seq,
      ...(c.provisional ? { provisional: true } : {}),
      atDiverterMono: c.atDiverterMono === null ? null : Math.round(c.atDiverterMono),
    };
  }

  private current(entry: Pending): boolean {
    return !this.stopped && this.pending.get(entry.command.parcelId) === entry;
  }

  private attempt(entry: Pending): void {
    const c = entry.command;
    entry.attempts++;
    const owner = this.o
      .drivers()
      .filter(isOpcuaControl)
      .find((d) => d.serverIds().includes(c.plcId));
    const output = this.o.decisionOutput(c.plcId);
    if (!owner || !output) {
      this.failed(
        entry,
        'EDGE_OPCUA_UNKNOWN_NAME',
        `no OPC UA server '${c.plcId}' with a decision output is configured`,
      );
      return;
    }
    // a revoke: the parcel goes straight on to inspection (no inspection destination configured)
    const lane = c.action === 'revoke' ? 'inspection' : c.outlet;
    owner
      .handOffDecision(c.plcId, output, {
        parcelId: c.parcelId,
        keys: c.keys,
        lane,
        destination: c.action === 'revoke' ? 'inspection' : c.destination,
        seq: c.seq,
      })
      .then(
        (ack) => this.acknowledged(entry, ack),
        (err: unknown) => this.attemptFailed(entry, err),
      );
  }

  private acknowledged(entry: Pending, ack: HandOffAck): void {
    const c = entry.command;
    const now = this.o.clock.monoMs();
    const totalMs = Math.round((now - c.issuedAtMono) * 10) / 10;
    const slackMs = c.atDiverterMono === null ? null : Math.round(c.atDiverterMono - now);
    const payload = {
      ...this.base(c),
      key: ack.key,
      via: ack.via,
      latencyMs: ack.ackMs,
      totalMs,
      attempts: entry.attempts,
      slackMs,
    };
    this.counters.acknowledged++;
    this.ackTimes.push(totalMs);
    const had = this.acked.get(c.parcelId);
    if (!had || had.seq < c.seq) {
      this.acked.delete(c.parcelId);
      this.acked.set(c.parcelId, { destination: c.destination, seq: c.seq });
      if (this.acked.size > 5000) this.acked.delete(this.acked.keys().next().value as string);
    }
    // late, but the PLC had this destination already: the parcel went where it was decided
    const already = had !== undefined && had.destination === c.destination;
    if (this.ackTimes.length > 1000) this.ackTimes.shift();
    if (this.current(entry)) this.pending.delete(c.parcelId);
    const events: EventDraft[] = [
      { type: 'plc.handoff', parcelId: c.parcelId, atMono: now, payload },
    ];
    // a provisional inspection hand-off that came late is replaced by the decision anyway
    if (slackMs !== null && slackMs < 0 && !c.provisional && !already) {
      this.counters.late++;
      this.trouble(
        'EDGE_PLC_ACK',
        `hand-off of ${ack.key} acknowledged ${-slackMs} ms after the decision point`,
      );
      events.push(
        { type: 'plc.handoff_late', parcelId: c.parcelId, atMono: now, payload },
        {
          type: 'alarm.plc-handoff-late',
          parcelId: c.parcelId,
          atMono: now,
          payload: {
            ...payload,
            severity: c.outlet === 'pass' ? 'major' : 'critical',
            note: 'the PLC had no destination for the parcel when it reached the decision point: it followed the PLC default',
          },
        },
      );
    }
    this.o.record(events);
  }

  private attemptFailed(entry: Pending, err: unknown): void {
    if (!this.current(entry)) return; // replaced by a newer decision meanwhile
    const c = entry.command;
    const code = isEdgeError(err) ? err.code : 'EDGE_PLC_ACK';
    const message = err instanceof Error ? err.message : String(err);
    const now = this.o.clock.monoMs();
    const delay = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** (entry.attempts - 1));
    const inTime = c.atDiverterMono === null || now + delay < c.atDiverterMono;
    if (FINAL_CODES.has(code) || !inTime) {
      this.failed(entry, code, message);
      return;
    }
    this.counters.retries++;
    this.trouble(code, message);
    this.o.log.warn(
      { ...this.base(c), parcelId: c.parcelId, err, attempt: entry.attempts },
      'PLC hand-off not acknowledged: retrying',
    );
    this.o.record([
      {
        type: 'plc.handoff_retry',
        parcelId: c.parcelId,
        atMono: now,
        payload: {
          ...this.base(c),
          error: message,
          code,
          attempt: entry.attempts,
          retryInMs: delay,
        },
      },
    ]);
    entry.timer = this.timers.set(() => {
      if (this.current(entry)) this.attempt(entry);
    }, delay);
  }

  private failed(entry: Pending, code: string, message: string): void {
    const c = entry.command;
    this.pending.delete(c.parcelId);
    if (c.provisional) {
      // the decision's own hand-off follows; a PLC keyed by what the parcel does not have yet
      // (its waybill before the read) is no trouble
      if (code === 'EDGE_PLC_NO_KEY') return;
      this.trouble(code, message);
      this.o.record([
        {
          type: 'plc.handoff_failed',
          parcelId: c.parcelId,
          atMono: this.o.clock.monoMs(),
          payload: { ...this.base(c), code, error: message, attempts: entry.attempts },
        },
      ]);
      return;
    }
    this.counters.failed++;
    this.trouble(code, message);
    const now = this.o.clock.monoMs();
    const had = this.acked.get(c.parcelId);
    const payload = {
      ...this.base(c),
      code,
      error: message,
      attempts: entry.attempts,
      acknowledgedDestination: had?.destination ?? null,
    };
    this.o.log.error({ ...payload, parcelId: c.parcelId }, 'PLC hand-off failed');
    if (had !== undefined && had.destination === c.destination) {
      // the PLC holds this very destination from an earlier hand-off: nothing is at risk
      this.o.record([{ type: 'plc.handoff_failed', parcelId: c.parcelId, atMono: now, payload }]);
      return;
    }
    this.o.record([
      { type: 'plc.handoff_failed', parcelId: c.parcelId, atMono: now, payload },
      {
        type: 'alarm.plc-handoff-unacked',
        parcelId: c.parcelId,
        atMono: now,
        payload: {
          ...payload,
          severity: c.outlet === 'pass' && c.action === 'divert' ? 'major' : 'critical',
          note:
            had === undefined
              ? 'the PLC has no acknowledged destination for this parcel: it follows the PLC default destination; intercept it if that is not inspection'
              : `the PLC still has destination ${String(had.destination)} for this parcel (acknowledged earlier); intercept it if that is not where it was decided`,
        },
      },
    ]);
  }

  private trouble(code: string, message: string): void {
    this.lastTroubleMono = this.o.clock.monoMs();
    this.lastError = { code, message, atWall: new Date(this.o.clock.wallMs()).toISOString() };
  }
}

/** The decision output of each OPC UA server in the configuration's driver entries. */
export function decisionOutputs(drivers: readonly Record<string, unknown>[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const d of drivers) {
    if (d.kind !== 'opcua' || !Array.isArray(d.servers)) continue;
    for (const server of d.servers as { id?: unknown; outputs?: unknown }[]) {
      if (typeof server.id !== 'string' || !Array.isArray(server.outputs)) continue;
      const decision = (server.outputs as { kind?: unknown; name?: unknown }[]).find(
        (o) => o.kind === 'decision',
      );
      if (decision && typeof decision.name === 'string') map.set(server.id, decision.name);
    }
  }
  return map;
}
