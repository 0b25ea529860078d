import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { EdgeEvent } from '../../events/model.js';
import type { LogTail } from '../../log-tail.js';
import type { EventQuery } from '../../outbox/search.js';
import { openSse } from '../sse.js';

/**
 * Events and logs for the console:
 *
 *   GET /api/events?waybill=&parcelId=&type=&from=&to=&limit=   stored events, newest first
 *                                                                (inspector: they are the records)
 *   GET /api/logs?level=40&limit=200                             the last log lines (technician)
 *   GET /api/logs/stream?level=30                                log lines live (server-sent events)
 *
 * `type` may end in '*' (alarm.*). Levels are pino's: 20 debug, 30 info, 40 warn, 50 error.
 */
export interface EventRouteDeps {
  events?: (q: EventQuery) => { events: EdgeEvent[]; scannedFromPos: number };
  logTail?: LogTail;
}

const EventsQuery = Type.Object({
  waybill: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  parcelId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  type: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.*-]+$' })),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
});
const LogsQuery = Type.Object({
  level: Type.Integer({ minimum: 0, maximum: 60, default: 30 }),
  limit: Type.Integer({ minimum: 1, maximum: 2000, default: 300 }),
});

export function eventRoutes(fastify: FastifyInstance, deps: EventRouteDeps): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { events, logTail } = deps;
  if (events) {
    app.get(
      '/api/events',
      { config: { minRole: 'inspector' }, schema: { tags: ['events'], querystring: EventsQuery } },
      (req, reply) => {
        const q = req.query;
        const query: EventQuery = { limit: q.limit };
        if (q.waybill) query.waybill = q.waybill;
        if (q.parcelId) query.parcelId = q.parcelId;
        if (q.type?.endsWith('*')) query.typePrefix = q.type.slice(0, -1);
        else if (q.type) query.types = [q.type];
        if (q.from) query.fromMs = Date.parse(q.from);
        if (q.to) query.toMs = Date.parse(q.to);
        return reply.header('cache-control', 'no-store').send(events(query));
      },
    );
  }
  if (logTail) {
    app.get(
      '/api/logs',
      { config: { minRole: 'technician' }, schema: { tags: ['logs'], querystring: LogsQuery } },
      (req, reply) =>
        reply
          .header('cache-control', 'no-store')
          .send({ lines: logTail.recent(req.query.level, req.query.limit) }),
    );
    app.get(
      '/api/logs/stream',
      {
        config: { minRole: 'technician', background: true },
        schema: { tags: ['logs'], querystring: LogsQuery },
      },
      (req, reply) => {
        const sse = openSse(req, reply);
        const level = req.query.level;
        sse.send('snapshot', { lines: logTail.recent(level, req.query.limit) });
        sse.onClose(logTail.subscribe((line) => line.level >= level && sse.send('line', line)));
      },
    );
  }
}
