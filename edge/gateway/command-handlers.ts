import type { CommandHandlers } from '../commands/router.js';
import { EdgeError } from '../errors.js';
import { assertGateTestAllowed, jogHoldMs } from '../gate/jog-interlock.js';
import { entriesFromCommandInSlices } from '../targeting/command-entries.js';
import { Slices } from '../targeting/slices.js';
import { lineForJog, requireRunner, type GatewayParts } from './parts.js';

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
      const source = `platform:${ctx.actor}${args.operatorId ? ` (operator ${args.operatorId})` : ''}`;
      const list = await runner.replaceTargetingWith(source, (store) =>
        store.replaceInSlices(args.listVersion, entries, source, slices),
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
        ids: {
          ...(args.ctItemId ? { ctItem: args.ctItemId } : {}),
          ...(args.imageId ? { image: args.imageId } : {}),
          ...(args.plcTrackingId ? { plcTracking: args.plcTrackingId } : {}),
        },
        source: 'platform',
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
