import type { Driver } from '../drivers/driver.js';
import type { CommandHandlers } from './commands/router.js';
import type { ConfigControl } from './config-control.js';
import type { EngineRunner } from './engine/engine-runner.js';
import { EdgeError } from './errors.js';
import type { GateLink } from './gate/gate-link.js';
import type { EventDraft } from './events/model.js';
import { assertGateTestAllowed, jogHoldMs, type LineForJog } from './gate/jog-interlock.js';
import { gateRoutes } from './http/routes/gate-routes.js';
import { opcuaRoutes } from './http/routes/opcua-routes.js';
import { serialRoutes } from './http/routes/serial-routes.js';
import { targetingRoutes } from './http/routes/targeting-routes.js';
import type { RouteModule } from './http/server.js';
import { entriesFromCommandInSlices } from './targeting/command-entries.js';
import { Slices } from './targeting/slices.js';

/**
 * What the gateway's parts offer the platform (command handlers) and technicians (HTTP route
 * modules), built from getters so a part restarted inside the gateway is always the current one.
 */
export interface GatewayParts {
  runner: () => EngineRunner | null;
  gateLink: () => GateLink | null;
  drivers: () => readonly Driver[];
  audit: (entry: { action: string; actor: string } & Record<string, unknown>) => void;
  configControl?: ConfigControl;
}

function requireRunner(parts: GatewayParts): EngineRunner {
  const runner = parts.runner();
  if (!runner) throw new EdgeError('EDGE_COMMAND_FAILED', 'line engine not running');
  return runner;
}

/** Handlers for the platform commands that act on the line (router: edge/commands/router.ts). */
export function commandHandlers(parts: GatewayParts): CommandHandlers {
  const control = parts.configControl;
  return {
    ...(control
      ? {
          putConfig: async (args, ctx) => {
            // signed by the platform: on-site-only parts stay as the local file has them
            const r = await control.apply(
              args.config,
              `platform:${ctx.actor} (operator ${args.operatorId})`,
              { remote: true },
            );
            if (!r.ok) throw new EdgeError('EDGE_COMMAND_FAILED', r.message, { details: r.issues });
            return { ...r };
          },
        }
      : {}),
    replaceTargeting: async (args, ctx) => {
      const runner = requireRunner(parts);
      // a platform list may hold 500,000 entries: converted, checked and stored in slices
      const slices = new Slices();
      const { entries, unsupported } = await entriesFromCommandInSlices(args.entries, slices);
      if (unsupported.length > 0)
        throw new EdgeError('EDGE_TARGETING_INVALID', unsupported.slice(0, 100).join('; '), {
          details: unsupported.slice(0, 1000),
        });
      const list = await runner.replaceTargetingInSlices(
        args.listVersion,
        entries,
        `platform:${ctx.actor}${args.operatorId ? ` (operator ${args.operatorId})` : ''}`,
        slices,
      );
      return { listVersion: list.version, entries: list.size };
    },
    ctDecision: (args) => {
      const result = requireRunner(parts).officerVerdict({
        parcelId: args.parcelId ?? null,
        waybill: args.waybill ?? null,
        verdict: args.verdict,
        officerId: args.officerId,
        reportId: args.reportId ?? null,
      });
      // a clear not bound to the parcel's CT record is refused (the engine recorded it, unapplied)
      const evidence = result.evidence;
      if (typeof evidence === 'string' && evidence !== 'matched') {
        throw new EdgeError('EDGE_COMMAND_EVIDENCE', String(result.reason), {
          details: { parcelId: result.parcelId, evidence },
        });
      }
      return Promise.resolve(result);
    },
    gateTest: async (args) => {
      const line = lineForJog(parts, args.gateId);
      const link = assertGateTestAllowed(parts.gateLink(), args.gateId, line);
      return {
        ...(await link.jogFire(args.gateId, jogHoldMs(link, line, args.pulseMs, args.gateId))),
      };
    },
  };
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

/** HTTP routes of the parts that have them (gates, serial, OPC UA, targeting list). */
export function routeModules(parts: GatewayParts): RouteModule[] {
  const audit = parts.audit;
  return [
    gateRoutes({
      gates: parts.gateLink,
      line: (gateId) => lineForJog(parts, gateId),
      audit,
    }),
    serialRoutes({ drivers: () => [...parts.drivers()], audit }),
    opcuaRoutes({ drivers: () => [...parts.drivers()], audit }),
    targetingRoutes({
      store: () => parts.runner()?.targeting ?? null,
      replace: (version, entries, source) =>
        requireRunner(parts).replaceTargeting(version, entries, source),
      audit,
    }),
  ];
}
