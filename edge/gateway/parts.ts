import type { Driver } from '../../drivers/driver.js';
import type { ConfigControl } from './config-control.js';
import type { EngineRunner } from '../engine/engine-runner.js';
import type { TargetingStore } from '../targeting/targeting-store.js';
import { EdgeError } from '../errors.js';
import type { GateLink } from '../gate/gate-link.js';
import type { EventDraft } from '../events/model.js';
import type { LineForJog } from '../gate/jog-interlock.js';

/**
 * The gateway's parts as the command handlers (command-handlers.ts) and HTTP route modules
 * (route-modules.ts) see them: getters, so a part restarted inside the gateway is always the
 * current one. Plus the engine's view for the jog interlock and the release of hand holds.
 */
export interface GatewayParts {
  runner: () => EngineRunner<TargetingStore> | null;
  gateLink: () => GateLink | null;
  drivers: () => readonly Driver[];
  audit: (entry: { action: string; actor: string } & Record<string, unknown>) => void;
  configControl?: ConfigControl;
}

export function requireRunner(parts: GatewayParts): EngineRunner<TargetingStore> {
  const runner = parts.runner();
  if (!runner) throw new EdgeError('EDGE_COMMAND_FAILED', 'line engine not running');
  return runner;
}

/**
 * The engine's view for the jog interlock (edge/gate/jog-interlock.ts), with the parcels that
 * have not passed `gateId` when one is named; no engine: fail closed.
 */
export function lineForJog(parts: Pick<GatewayParts, 'runner'>, gateId?: string): LineForJog {
  const runner = parts.runner();
  if (!runner) return { state: null, parcelsOnBelt: 0, beltClear: false, clearNote: 'no engine' };
  const c = runner.beltClearance();
  const clearNote =
    c.clearSinceMono === null
      ? undefined
      : `clear for ${Math.round(c.travelledMm)} of ${Math.round(c.transitMm)} mm of belt travel since the last tracked parcel or the engine's start`;
  return {
    state: runner.engine.state.line,
    parcelsOnBelt: c.parcels,
    ...(gateId !== undefined ? { parcelsBeforeGate: runner.parcelsBeforeGate(gateId) } : {}),
    beltClear: c.clear,
    ...(clearNote !== undefined && !c.clear ? { clearNote } : {}),
  };
}

/** GateLink.handFireGuard: no hand fire of a gate while a tracked parcel has not passed it. */
export function handFireGuard(
  parts: Pick<GatewayParts, 'runner'>,
): (gateId: string) => string | null {
  return (gateId) => {
    const runner = parts.runner();
    if (!runner) return 'the line engine is not running: gates are not moved by hand';
    const n = runner.parcelsBeforeGate(gateId);
    return n > 0
      ? `${n} tracked parcel(s) have not passed ${gateId}: firing it could divert one into its lane`
      : null;
  };
}

/**
 * The gateway hands every batch of engine events here: when the line starts running or a parcel
 * is inducted, every gate held by hand is released at once (a hold allowed on a stopped line
 * must not divert a parcel), and the forced release is audited.
 */
export function releaseHandHeldOn(parts: GatewayParts, events: readonly EventDraft[]): void {
  const trigger = events.find((e) => e.type === 'line.resumed' || e.type === 'parcel.inducted');
  const link = parts.gateLink();
  if (!trigger || !link) return;
  const outputs = link.releaseHandHeld();
  if (outputs.length === 0) return;
  parts.audit({
    action: 'gate.release',
    actor: 'interlock',
    outputs,
    forced: true,
    reason: trigger.type === 'line.resumed' ? 'line started' : 'parcel inducted',
    parcelId: trigger.parcelId,
    outcome: 'done',
  });
}
