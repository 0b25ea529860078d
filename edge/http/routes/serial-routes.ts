import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { listSerialPorts } from '../../../drivers/serial/port-list.js';
import { nodeSerialBinding, type SerialBinding } from '../../../drivers/serial/port.js';
import { SerialDriver } from '../../../drivers/serial/serial-driver.js';
import { EdgeError, isEdgeError } from '../../errors.js';
import type { RouteModule } from '../server.js';

/**
 * Serial routes for technicians (every route needs the technician role):
 *
 *   GET  /api/serial/ports                         ports with their /dev/serial/by-id names,
 *                                                  plus the configured serial drivers' ports
 *   GET  /api/serial/drivers/:driverId/monitor     raw monitor: last N frames as hex and text,
 *                                                  and the last bytes read (framed or not)
 *   POST /api/serial/drivers/:driverId/command     send a test command to a polled device
 *
 * Port enumeration failing (serialport spawns udevadm, which may be missing) is reported in
 * `errors`, never thrown. Test commands are limited to each driver's `testCommands` list and
 * audited with the technician's name.
 */
export interface SerialRouteDeps {
  /** the gateway's drivers; the serial ones are picked out */
  drivers: () => readonly unknown[];
  binding?: SerialBinding;
  byIdDir?: string;
  audit?: (entry: { action: string; actor: string } & Record<string, unknown>) => void;
}

const DriverParams = Type.Object({ driverId: Type.String({ minLength: 1, maxLength: 64 }) });
const MonitorQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
});
const CommandBody = Type.Object(
  { command: Type.String({ minLength: 1, maxLength: 40, pattern: '^[ -~]+$' }) },
  { additionalProperties: false },
);

const STATUS: Partial<Record<string, number>> = {
  EDGE_SERIAL_UNKNOWN_DRIVER: 404,
  EDGE_SERIAL_COMMAND_REJECTED: 400,
  EDGE_SERIAL_NOT_CONNECTED: 503,
  EDGE_SERIAL_DISCONNECTED: 503,
  EDGE_SERIAL_COMMAND_TIMEOUT: 504,
};

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (isEdgeError(err))
    return reply.code(STATUS[err.code] ?? 500).send({ code: err.code, message: err.message });
  return reply.code(500).send({ code: 'ERROR', message: (err as Error).message });
}

export function serialRoutes(deps: SerialRouteDeps): RouteModule {
  const binding = deps.binding ?? nodeSerialBinding;
  return (fastify: FastifyInstance) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const technician = { minRole: 'technician' as const };
    const serial = (): SerialDriver[] =>
      deps.drivers().filter((d): d is SerialDriver => d instanceof SerialDriver);
    const find = (driverId: string): SerialDriver => {
      const d = serial().find((x) => x.id === driverId);
      if (!d) throw new EdgeError('EDGE_SERIAL_UNKNOWN_DRIVER', `no serial driver '${driverId}'`);
      return d;
    };

    app.get('/api/serial/ports', { config: technician }, async (_req, reply) => {
      const listing = await listSerialPorts(binding, deps.byIdDir);
      const configured = serial().map((d) => {
        const h = d.health();
        return {
          driverId: d.id,
          kind: d.kind,
          path: d.path,
          state: h.state,
          link: h.details.link,
          deviceOk: h.details.deviceOk,
          polled: d.polled,
          testCommands: d.testCommands,
        };
      });
      return reply.send({ ...listing, configured });
    });

    app.get(
      '/api/serial/drivers/:driverId/monitor',
      { config: technician, schema: { params: DriverParams, querystring: MonitorQuery } },
      (req, reply) => {
        try {
          const d = find(req.params.driverId);
          const h = d.health();
          return reply.send({
            driverId: d.id,
            path: d.path,
            link: h.details.link,
            counters: h.counters,
            rejectReasons: h.details.rejectReasons,
            frames: d.monitorFrames(req.query.limit),
            lastBytes: d.lastBytes(),
          });
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );

    app.post(
      '/api/serial/drivers/:driverId/command',
      { config: technician, schema: { params: DriverParams, body: CommandBody } },
      async (req, reply) => {
        const actor = req.principal?.name ?? 'unknown';
        const { command } = req.body;
        try {
          const d = find(req.params.driverId);
          const result = await d.sendTestCommand(command);
          deps.audit?.({ action: 'serial.test-command', actor, driverId: d.id, command, ok: true });
          return await reply.send({ driverId: d.id, ...result });
        } catch (err) {
          deps.audit?.({
            action: 'serial.test-command',
            actor,
            driverId: req.params.driverId,
            command,
            ok: false,
            error: isEdgeError(err) ? err.code : 'ERROR',
          });
          return sendError(reply, err);
        }
      },
    );
  };
}
