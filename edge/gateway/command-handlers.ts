import type { CommandHandlers } from '../commands/router.js';
import { EdgeError } from '../errors.js';
import { assertGateTestAllowed, jogHoldMs } from '../gate/jog-interlock.js';
import { entriesFromCommand } from '../targeting/command-entries.js';
import { lineForJog, requireRunner, type GatewayParts } from './parts.js';

/** Handlers for the platform commands that act on the line (router: edge/commands/router.ts). */
export function commandHandlers(parts: GatewayParts): CommandHandlers {
  const control = parts.configControl;
  return {
    ...(control
      ? {
          putConfig: async (args) => {
            const r = await control.apply(args.config, `platform:${args.operatorId}`);
            if (!r.ok) throw new EdgeError('EDGE_COMMAND_FAILED', r.message, { details: r.issues });
            return { ...r };
          },
        }
      : {}),
    replaceTargeting: (args) => {
      const runner = requireRunner(parts);
      const { entries, unsupported } = entriesFromCommand(args.entries);
      if (unsupported.length > 0)
        throw new EdgeError('EDGE_TARGETING_INVALID', unsupported.join('; '), {
          details: unsupported,
        });
      const list = runner.replaceTargeting(
        args.listVersion,
        entries,
        `platform:${args.operatorId ?? 'unknown'}`,
      );
      return Promise.resolve({ listVersion: list.version, entries: list.size });
    },
    ctDecision: (args) =>
      Promise.resolve(
        requireRunner(parts).officerVerdict({
          parcelId: args.parcelId ?? null,
          waybill: args.waybill ?? null,
          verdict: args.verdict,
          officerId: args.officerId,
          reportId: args.reportId ?? null,
          ids: {
            ...(args.ctItemId ? { ctItem: args.ctItemId } : {}),
            ...(args.imageId ? { image: args.imageId } : {}),
            ...(args.plcTrackingId ? { plcTracking: args.plcTrackingId } : {}),
          },
        }),
      ),
    gateTest: async (args) => {
      const line = lineForJog(parts);
      const link = assertGateTestAllowed(parts.gateLink(), args.gateId, line);
      return {
        ...(await link.jogFire(args.gateId, jogHoldMs(link, line, args.pulseMs, args.gateId))),
      };
    },
  };
}
