import type { Logger } from 'pino';
import { isOpcuaControl } from '../../drivers/opcua/api.js';
import type { Clock } from '../clock.js';
import type { PlcDivertCommand } from '../engine/types.js';
import type { EventDraft } from '../events/model.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * Hands the engine's decisions for PLC-mode lanes to the sorter PLC over OPC UA: the lane's
 * `plc.plcId` names the OPC UA server, whose `decision` output receives { trackingId, lane }.
 * A revoke sends lane `inspection` (straight through). Every hand-off and every failure is an
 * event; a failed hand-off leaves the PLC without a decision, and the PLC must then let the parcel
 * go straight on to inspection (its side of the fail-safe).
 */
export interface PlcHandOffOptions {
  drivers: () => readonly unknown[];
  /** the name of the `decision` output of an OPC UA server, from the configuration */
  decisionOutput: (serverId: string) => string | null;
  record: (events: EventDraft[]) => void;
  clock: Clock;
  log: Logger;
}

export class PlcHandOff {
  constructor(private readonly o: PlcHandOffOptions) {}

  send(command: PlcDivertCommand): void {
    const { clock } = this.o;
    const owner = this.o
      .drivers()
      .filter(isOpcuaControl)
      .find((d) => d.serverIds().includes(command.plcId));
    const output = this.o.decisionOutput(command.plcId);
    const base = {
      plcId: command.plcId,
      gateId: command.gateId,
      action: command.action,
      lane: command.action === 'revoke' ? 'inspection' : command.outlet,
      destination: command.destination,
      trackingId: command.code ?? command.parcelId,
    };
    const failed = (error: string) => {
      this.o.log.error({ ...base, parcelId: command.parcelId, error }, 'PLC hand-off failed');
      this.o.record([
        eventDraft('plc.handoff_failed', command.parcelId, clock.monoMs(), { ...base, error }),
      ]);
    };
    if (!owner || !output) {
      failed(`no OPC UA server '${command.plcId}' with a decision output is configured`);
      return;
    }
    const started = clock.monoMs();
    owner
      .handOffDecision(command.plcId, output, { trackingId: base.trackingId, lane: base.lane })
      .then(
        () => {
          const done = clock.monoMs();
          const slackMs =
            command.atDiverterMono === null ? null : Math.round(command.atDiverterMono - done);
          this.o.record([
            eventDraft('plc.handoff', command.parcelId, done, {
              ...base,
              latencyMs: Math.round((done - started) * 10) / 10,
              slackMs,
            }),
          ]);
        },
        (err: unknown) => failed((err as Error).message),
      );
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
