import type { GatewayConfig } from '../../config/schema.js';
import type { EngineRunner } from '../engine/engine-runner.js';
import type { EdgeEvent } from '../events/model.js';
import type { LineCondition } from '../gate/stack-light.js';
import type { ParcelBoard } from './parcel-board.js';
import type { LineView } from './routes/line-routes.js';

/**
 * The console's belt picture, built from the running gateway: the engine's parcels and line
 * state, the stack-light condition, counters, and the last alarms (from committed events).
 */

/** The last alarms with their reasons, fed with every committed batch of events. */
export class RecentAlarms {
  private readonly items: LineView['alarms'] = [];
  constructor(private readonly capacity = 20) {}
  apply(events: readonly EdgeEvent[]): void {
    for (const e of events) {
      if (!e.type.startsWith('alarm.') && e.type !== 'outbox.dropped') continue;
      const p = e.payload;
      const reason =
        typeof p.reason === 'string'
          ? p.reason
          : typeof p.message === 'string'
            ? p.message
            : typeof p.deviceId === 'string'
              ? `device ${p.deviceId}`
              : null;
      this.items.unshift({ type: e.type, time: e.time, reason });
      if (this.items.length > this.capacity) this.items.pop();
    }
  }
  list(): LineView['alarms'] {
    return [...this.items];
  }
}

/** Why the line is not simply running, in the words a technician needs first. */
export interface LineReason {
  /** estop | jam | fail-safe | unknown | stopped: safe to show without login */
  code: 'estop' | 'jam' | 'fail-safe' | 'unknown' | 'stopped';
  text: string;
}

export function lineReason(state: string, condition: LineCondition | null): LineReason | null {
  const c = condition;
  if (state === 'estop')
    return { code: 'estop', text: `E-stop${c?.unknown ? ` (${c.unknown})` : ''}` };
  if (state === 'jam') return { code: 'jam', text: `jam${c?.unknown ? ` (${c.unknown})` : ''}` };
  if (c?.failSafe) return { code: 'fail-safe', text: `fail-safe: ${c.failSafe}` };
  if (c?.unknown) return { code: 'unknown', text: c.unknown };
  if (state === 'stopped') return { code: 'stopped', text: 'line stopped' };
  return null;
}

export interface LineViewSources {
  config: GatewayConfig;
  runner: () => EngineRunner | null;
  condition: () => LineCondition;
  lamps: () => Record<string, boolean> | null;
  board: ParcelBoard;
  alarms: RecentAlarms;
  uplink: () => string | null;
  monoMs: () => number;
}

export function buildLineView(s: LineViewSources): LineView {
  const runner = s.runner();
  const engine = runner?.engine;
  const state = engine?.state.line ?? 'starting';
  const condition = s.condition();
  const view = engine?.view(s.monoMs()) ?? { speedMmPerS: 0, parcels: [] };
  const { line } = s.config;
  const lanes = [
    { id: 'exception', lane: 'exception', geom: line.lanes.exception },
    { id: 'pass', lane: 'pass', geom: line.lanes.pass },
    ...(line.outlets ?? []).map((o) => ({ id: o.id, lane: 'pass', geom: o })),
    { id: 'inspection', lane: 'inspection', geom: line.lanes.inspection },
  ].map((l) => ({
    id: l.id,
    lane: l.lane,
    positionMm: l.geom.positionMm,
    gate: 'gate' in l.geom && typeof l.geom.gate === 'string' ? l.geom.gate : null,
  }));
  return {
    lineId: line.id,
    state,
    reason: lineReason(state, condition)?.text ?? null,
    condition,
    lamps: s.lamps(),
    speedMmPerS: view.speedMmPerS,
    geometry: {
      scannerMm: line.scanner.positionMm,
      ctMm: line.ct.positionMm,
      lanes,
      endMm: Math.max(...lanes.map((l) => l.positionMm)) + 500,
    },
    parcels: view.parcels,
    tracked: view.parcels.length,
    decisions: runner?.decisions ?? 0,
    totals: { ...s.board.totals },
    alarms: s.alarms.list(),
    uplink: s.uplink(),
  };
}
