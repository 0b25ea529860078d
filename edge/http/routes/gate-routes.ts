import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { EdgeError, isEdgeError } from '../../errors.js';
import type { GateLink } from '../../gate/gate-link.js';
import {
  assertJogAllowed,
  jogHoldMs,
  lineRunning,
  type JogOutputKind,
  type LineForJog,
} from '../../gate/jog-interlock.js';
import { BEACON_ID, lampId, STACK_LIGHT_COLOURS } from '../../../config/gate-checks.js';
import type { RouteModule } from '../server.js';

/**
 * Technician jog API for the gate controller:
 *
 *   GET  /api/gates                       controller state, outputs, inputs, lights, maintenance
 *   POST /api/gates/outputs/:id/fire      fire a gate now ({ holdMs? }); answers when it fired
 *   POST /api/gates/outputs/:id/release   release a held gate
 *   POST /api/gates/lights/:light         set a stack-light lamp or the beacon ({ on })
 *   PUT  /api/gates/maintenance           maintenance mode on/off (admin; a key-switch input
 *                                         configured with role maintenance does the same)
 *
 * A jog is refused (409 EDGE_GPIO_JOG_REFUSED) by the interlock in edge/gate/jog-interlock.ts:
 * a gate without a line engine, while the belt may move unless the line is in maintenance
 * mode, while the E-stop is pressed, and on a belt that may move while parcels are tracked or
 * before it has been clear for a full transit; there a hand fire is a short pulse. Releasing a
 * known gate is always allowed (safe state). Every attempt, done or refused, goes to the audit
 * log with the technician's name.
 */
export interface GateRouteDeps {
  gates: () => GateLink | null;
  /**
   * the line engine's view: line state, parcels tracked (and not past `gateId` when named), belt
   * clear (edge/gateway/parts.ts lineForJog)
   */
  line: (gateId?: string) => LineForJog;
  audit?: (entry: { action: string; actor: string } & Record<string, unknown>) => void;
}

const OutputParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const LightParams = Type.Object({
  light: Type.Union([...STACK_LIGHT_COLOURS, 'beacon'].map((c) => Type.Literal(c))),
});
const FireBody = Type.Object(
  { holdMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) },
  { additionalProperties: false },
);
const OnBody = Type.Object({ on: Type.Boolean() }, { additionalProperties: false });

const STATUS: Partial<Record<string, number>> = {
  EDGE_GATE_UNKNOWN_OUTPUT: 404,
  EDGE_GPIO_JOG_REFUSED: 409,
  EDGE_GATE_CONTROLLER_DOWN: 503,
};

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (isEdgeError(err))
    return reply.code(STATUS[err.code] ?? 500).send({ code: err.code, message: err.message });
  return reply.code(500).send({ code: 'ERROR', message: (err as Error).message });
}

export function gateRoutes(deps: GateRouteDeps): RouteModule {
  return (fastify: FastifyInstance) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const technician = { minRole: 'technician' as const };

    const link = (): GateLink => {
      const l = deps.gates();
      if (!l) throw new EdgeError('EDGE_GATE_CONTROLLER_DOWN', 'no gate controller configured');
      return l;
    };
    /** Throws when a jog is not allowed now. */
    const allowJog = (
      l: GateLink,
      output: string,
      kind: JogOutputKind,
      action: 'fire' | 'release' = 'fire',
    ) => assertJogAllowed(l, output, kind, deps.line(output), action);
    const audit = (action: string, actor: string, fields: Record<string, unknown>, err?: unknown) =>
      deps.audit?.({
        action,
        actor,
        ...fields,
        outcome:
          err === undefined
            ? 'done'
            : isEdgeError(err, 'EDGE_GPIO_JOG_REFUSED')
              ? 'refused'
              : 'failed',
        ...(err === undefined
          ? {}
          : { error: isEdgeError(err) ? err.code : 'ERROR', reason: (err as Error).message }),
      });

    app.get('/api/gates', { config: technician }, (_req, reply) => {
      const l = deps.gates();
      if (!l) return reply.send({ configured: false });
      const h = l.health();
      const line = deps.line();
      return reply.send({
        configured: true,
        state: h.state,
        controllerState: l.gateState,
        lineRunning: lineRunning(l, line),
        lineState: line.state,
        parcelsOnBelt: line.parcelsOnBelt,
        beltClear: line.beltClear,
        maintenance: l.maintenance,
        estop: l.estop,
        outputs: l.outputIds().map((id) => ({ id, kind: l.outputKind(id) })),
        details: h.details,
      });
    });

    app.post(
      '/api/gates/outputs/:id/fire',
      { config: technician, schema: { params: OutputParams, body: Type.Optional(FireBody) } },
      async (req, reply) => {
        const actor = req.principal?.name ?? 'unknown';
        const output = req.params.id;
        const holdMs = req.body?.holdMs;
        const fields = { output, ...(holdMs !== undefined ? { holdMs } : {}) };
        try {
          const l = link();
          const line = deps.line(output);
          assertJogAllowed(l, output, 'gate', line);
          const heldMs = jogHoldMs(l, line, holdMs, output);
          const fired = await l.jogFire(output, heldMs);
          audit('gate.jog', actor, {
            ...fields,
            ...(heldMs !== holdMs ? { heldMs } : {}),
            latenessMs: fired.latenessMs,
          });
          return await reply.send({ fired: true, output, latenessMs: fired.latenessMs });
        } catch (err) {
          audit('gate.jog', actor, fields, err);
          return sendError(reply, err);
        }
      },
    );

    app.post(
      '/api/gates/outputs/:id/release',
      { config: technician, schema: { params: OutputParams } },
      (req, reply) => {
        const actor = req.principal?.name ?? 'unknown';
        const output = req.params.id;
        try {
          const l = link();
          allowJog(l, output, 'gate', 'release');
          l.release(output);
          audit('gate.release', actor, { output });
          return reply.send({ released: true, output });
        } catch (err) {
          audit('gate.release', actor, { output }, err);
          return sendError(reply, err);
        }
      },
    );

    app.post(
      '/api/gates/lights/:light',
      { config: technician, schema: { params: LightParams, body: OnBody } },
      (req, reply) => {
        const actor = req.principal?.name ?? 'unknown';
        const { light } = req.params;
        const output = light === 'beacon' ? BEACON_ID : lampId(light);
        const fields = { output, on: req.body.on };
        try {
          const l = link();
          allowJog(l, output, light === 'beacon' ? 'beacon' : 'lamp');
          l.setLight(output, req.body.on);
          audit('gate.light', actor, fields);
          return reply.send({ output, on: req.body.on });
        } catch (err) {
          audit('gate.light', actor, fields, err);
          return sendError(reply, err);
        }
      },
    );

    app.put(
      '/api/gates/maintenance',
      { config: { minRole: 'admin' }, schema: { body: OnBody } },
      (req, reply) => {
        const actor = req.principal?.name ?? 'unknown';
        try {
          const l = link();
          l.setMaintenance(req.body.on);
          audit('gate.maintenance', actor, { on: req.body.on });
          return reply.send({ maintenance: l.maintenance });
        } catch (err) {
          audit('gate.maintenance', actor, { on: req.body.on }, err);
          return sendError(reply, err);
        }
      },
    );
  };
}
