import type { FastifyInstance } from 'fastify';
import type { ParcelBoard } from '../parcel-board.js';
import { openSse } from '../sse.js';
import type { LineView } from '../line-view-model.js';

export type { LineView };

/**
 * The live line for the console's overview and the parcel board (viewer role):
 *
 *   GET /api/parcels          recent parcels and their decisions, totals
 *   GET /api/parcels/stream   the same live (server-sent events: snapshot, then one row per change)
 *   GET /api/line             the belt picture: line state and reason, stack light, parcels with
 *                             their position and decision, geometry, counters, recent alarms
 *   GET /api/line/stream      that picture every 250 ms (server-sent events)
 */

export interface LineRouteDeps {
  board: ParcelBoard;
  line?: () => LineView;
}

export function lineRoutes(app: FastifyInstance, deps: LineRouteDeps): void {
  const viewer = { minRole: 'viewer' as const };
  const stream = { minRole: 'viewer' as const, background: true };
  const tags = ['line'];

  app.get('/api/parcels', { config: viewer, schema: { tags } }, (_req, reply) =>
    reply.send({ totals: deps.board.totals, parcels: deps.board.list() }),
  );

  app.get('/api/parcels/stream', { config: stream, schema: { tags } }, (req, reply) => {
    const sse = openSse(req, reply);
    sse.send('snapshot', { totals: deps.board.totals, parcels: deps.board.list() });
    sse.onClose(deps.board.subscribe((row) => sse.send(null, { row, totals: deps.board.totals })));
  });

  const line = deps.line;
  if (!line) return;
  app.get('/api/line', { config: viewer, schema: { tags } }, (_req, reply) =>
    reply.header('cache-control', 'no-store').send(line()),
  );
  app.get('/api/line/stream', { config: stream, schema: { tags } }, (req, reply) => {
    const sse = openSse(req, reply);
    sse.send('line', line());
    const timer = setInterval(() => sse.send('line', line()), 250);
    sse.onClose(() => clearInterval(timer));
  });
}
