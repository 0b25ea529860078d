import type { DriverHealth } from '../../drivers/driver.js';
import type { Clock } from '../clock.js';
import type { LineCondition, Lamps } from '../gate/stack-light.js';
import type { ControllerState } from '../gate/protocol.js';
import type { OutboxCondition } from '../outbox/condition.js';
import type { OutboxStats } from '../outbox/stats.js';
import type { SorterHandOffHealth as PlcHandOffHealth } from '../sorter/sorter-hand-off.js';
import type { UplinkHealth } from '../uplink/health.js';

/**
 * The gateway's health model: what `/api/health/details` shows a technician (the public
 * `/api/health` is cut down from it in edge/http/server.ts) and what the stack light shows
 * (domain.md colours). Built from a read-only view of the gateway's parts, so it is computed the
 * same way wherever it is asked for.
 */

export type GatewayPhase = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
export type HealthStatus = 'ok' | 'degraded' | 'starting' | 'stopping';

export interface EngineHealth {
  tracked: number;
  decisions: number;
  line: { line: string; ctDown: string | null; scannerDown: string | null } | null;
  targetingVersion: string | null;
}

export type CommandsHealth = Record<string, unknown> & { replyStore?: unknown };

// a type alias (not an interface) so it is also a Record<string, unknown> for the HTTP layer
export type GatewayHealth = {
  status: HealthStatus;
  /** the line's state and why it is not running normally (E-stop, fail-safe, CT lost...) */
  line: LineHealth;
  version: string;
  gatewayId: string;
  uptimeS: number;
  drivers: DriverHealth[];
  outbox: (OutboxStats & { condition: OutboxCondition | null }) | Record<string, never>;
  uplink: UplinkHealth | Record<string, never>;
  commands: CommandsHealth | null;
  /** sorter PLC hand-offs (edge/sorter): degraded while hand-offs fail or come late */
  plcHandOff: PlcHandOffHealth;
  engine: EngineHealth;
  stackLight: { lamps: Lamps | null; condition: LineCondition | null };
  /** the inspector workstation's queue (edge/inspector), null when it is off */
  inspector: Record<string, unknown> | null;
};

export interface LineHealth {
  state: string;
  /** a reason code (edge/http/line-view.ts lineReason), null while the line runs normally */
  reason: string | null;
  detail: string | null;
}

/** What health and the stack light are computed from. */
export interface HealthView {
  phase: GatewayPhase;
  line: LineHealth;
  version: string;
  gatewayId: string;
  startedAtWall: number;
  clock: Clock;
  /** every driver's health, the gate link's first; drivers that could not be created too */
  drivers: DriverHealth[];
  outbox: OutboxStats | null;
  /** whether events are being recorded and drained (edge/outbox/condition.ts) */
  record: OutboxCondition | null;
  uplink: UplinkHealth | null;
  commands: CommandsHealth | null;
  plcHandOff: PlcHandOffHealth;
  engine: EngineHealth;
  stackLight: { lamps: Lamps | null; condition: LineCondition | null };
  inspector: Record<string, unknown> | null;
}

export function gatewayHealth(v: HealthView): GatewayHealth {
  // a reply store that could not be opened refuses state-changing commands: degraded too; so is
  // an outbox that does not record or drain (its reasons say why)
  const anyBad =
    v.drivers.some((d) => d.state !== 'running') ||
    v.commands?.replyStore === 'unavailable' ||
    v.record?.state === 'degraded' ||
    v.plcHandOff.state === 'degraded';
  // E-stop, jam, CT or scanner lost, gates safe: not ok whatever the parts say (a stopped line is)
  const lineBad = v.line.reason !== null && v.line.reason !== 'stopped';
  const status: HealthStatus =
    v.phase === 'running'
      ? anyBad || lineBad || v.uplink?.state !== 'connected'
        ? 'degraded'
        : 'ok'
      : v.phase === 'stopping' || v.phase === 'stopped'
        ? 'stopping'
        : 'starting';
  return {
    status,
    line: v.line,
    version: v.version,
    gatewayId: v.gatewayId,
    uptimeS: Math.round((v.clock.wallMs() - v.startedAtWall) / 1000),
    drivers: v.drivers,
    outbox: v.outbox ? { ...v.outbox, condition: v.record } : {},
    uplink: v.uplink ?? {},
    commands: v.commands,
    plcHandOff: v.plcHandOff,
    engine: v.engine,
    stackLight: v.stackLight,
    inspector: v.inspector,
  };
}

/** What the condition of the line is computed from (engine, gate controller, drivers, alarms). */
export interface ConditionView {
  engine: EngineHealth['line'];
  gates: ControllerState | null;
  /** drivers other than the gate link */
  drivers: DriverHealth[];
  uplinkState: string | null;
  /** the last alarm event type if one was recorded in the last 30 s */
  recentAlarm: string | null;
  /** the outbox's condition: losing events is an alarm (red), not draining a comm error (white) */
  record: OutboxCondition | null;
}

/** What the stack light shows (domain.md colours). */
export function lineCondition(v: ConditionView): LineCondition {
  const engine = v.engine;
  const bad = v.drivers.find((d) => d.state !== 'running');
  const reasons = v.record?.reasons ?? [];
  const losing = reasons.find((r) => r.code !== 'not-draining');
  const stuck = reasons.find((r) => r.code === 'not-draining');
  return {
    failSafe:
      engine?.ctDown ??
      engine?.scannerDown ??
      (v.gates === 'safe' ? 'gate controller in safe state' : null),
    commError: bad
      ? `${bad.id} ${bad.state}`
      : v.uplinkState && v.uplinkState !== 'connected'
        ? `uplink ${v.uplinkState}`
        : stuck
          ? `outbox: ${stuck.message}`
          : null,
    alarm: losing ? `outbox: ${losing.message}` : v.recentAlarm,
    unknown:
      engine && (engine.line === 'estop' || engine.line === 'jam') ? `line ${engine.line}` : null,
  };
}
