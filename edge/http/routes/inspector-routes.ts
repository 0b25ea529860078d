import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Role } from '../../../config/schema.js';
import { EdgeError, isEdgeError, type EdgeErrorCode } from '../../errors.js';
import type { DeskMessage, InspectorDesk } from '../../inspector/desk.js';
import { DECISION_ACTIONS, type DecisionAction } from '../../inspector/model.js';
import { buildShiftReport, shiftReportCsv } from '../../inspector/shift-report.js';
import { parcelStory, searchParcels } from '../../inspector/story.js';

/**
 * The inspector workstation over HTTP (docs/inspector.md): the queue and its live stream
 * (server-sent events), claims (who has a parcel open), alert acknowledgement, officer
 * decisions, a parcel's story, search by waybill or parcel id, and the shift report (JSON or
 * CSV). Reading needs `minRole` (inspector); opening, acknowledging and deciding need one of the
 * desk's `decisionRoles` (inspector by default: a technician or viewer may not decide).
 * Malformed requests are 400 EDGE_INSPECTOR_INVALID and change nothing.
 */

export interface InspectorRouteDeps {
  desk: () => InspectorDesk | null;
  /** least role that may read the queue, stories and reports (default inspector) */
  minRole?: Role;
}

const ParcelParams = Type.Object({
  parcelId: Type.String({ pattern: '^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$' }),
});
type ParcelParams = Static<typeof ParcelParams>;

const ClaimBody = Type.Union([
  Type.Object({ takeOver: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  Type.Null(),
]);

const DecisionBody = Type.Object(
  {
    action: Type.Unsafe<DecisionAction>(Type.Union(DECISION_ACTIONS.map((a) => Type.Literal(a)))),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    takeOver: Type.Optional(Type.Boolean()),
    revise: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
type DecisionBody = Static<typeof DecisionBody>;

const QueueQuery = Type.Object(
  { decided: Type.Optional(Type.Integer({ minimum: 0, maximum: 500 })) },
  { additionalProperties: false },
);
const SearchQuery = Type.Object(
  { q: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
const ReportQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
  },
  { additionalProperties: false },
);
type ReportQuery = Static<typeof ReportQuery>;

const STATUS: Partial<Record<EdgeErrorCode, number>> = {
  EDGE_INSPECTOR_INVALID: 400,
  EDGE_HTTP_FORBIDDEN: 403,
  EDGE_INSPECTOR_UNKNOWN_PARCEL: 404,
  EDGE_INSPECTOR_CLAIMED: 409,
  EDGE_INSPECTOR_DECIDED: 409,
  EDGE_INSPECTOR_NOT_RECORDED: 503,
  EDGE_INSPECTOR_UNAVAILABLE: 503,
};

const REPORT_MAX_ROWS = 50_000;
const SSE_MAX_BUFFER = 1024 * 1024;

export function inspectorRoutes(deps: InspectorRouteDeps) {
  const minRole: Role = deps.minRole ?? 'inspector';

  /** The desk, or a 503; the request's validation error as a 400; the officer's name. */
  function prepare(req: FastifyRequest): InspectorDesk {
    if (req.validationError)
      throw new EdgeError('EDGE_INSPECTOR_INVALID', req.validationError.message);
    const desk = deps.desk();
    if (!desk)
      throw new EdgeError('EDGE_INSPECTOR_UNAVAILABLE', 'inspector workstation not running');
    return desk;
  }

  function officerOf(req: FastifyRequest, desk: InspectorDesk): string {
    const p = req.principal;
    if (!p || !desk.o.config.decisionRoles.includes(p.role))
      throw new EdgeError(
        'EDGE_HTTP_FORBIDDEN',
        `role ${p?.role ?? '?'} may not work on parcels (needs ${desk.o.config.decisionRoles.join(' or ')})`,
      );
    return p.name;
  }

  /**
   * Before validation, on every route that works on a parcel: the caller's role first (a
   * technician learns nothing about the body), then fields the route does not know. Fastify's
   * Ajv strips properties a schema does not allow (removeAdditional) instead of refusing them;
   * a decision with a field it does not know (an `officer` of someone else...) is refused.
   */
  function guard(allowedKeys: readonly string[]) {
    return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      try {
        const desk = deps.desk();
        if (!desk)
          throw new EdgeError('EDGE_INSPECTOR_UNAVAILABLE', 'inspector workstation not running');
        officerOf(req, desk);
        const body = req.body;
        if (!body || typeof body !== 'object' || Array.isArray(body)) return;
        const extra = Object.keys(body).filter((k) => !allowedKeys.includes(k));
        if (extra.length > 0)
          throw new EdgeError(
            'EDGE_INSPECTOR_INVALID',
            `unknown field${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}`,
          );
      } catch (err) {
        await fail(reply, err);
      }
    };
  }

  function fail(reply: FastifyReply, err: unknown): FastifyReply {
    if (isEdgeError(err)) {
      const status = STATUS[err.code] ?? 500;
      return reply.code(status).send({
        code: err.code,
        message: err.message,
        ...(err.details !== undefined ? { details: err.details } : {}),
      });
    }
    throw err;
  }

  return (app: FastifyInstance): void => {
    const read = { config: { minRole }, attachValidation: true };
    // the live stream does not count as user activity for a session's idle timeout (the console
    // shell's `background` route flag; a plain object so it also compiles where the flag is absent)
    const streamConfig = { minRole, background: true };

    app.get('/api/inspector/settings', read, (req, reply) => {
      try {
        const desk = prepare(req);
        const c = desk.o.config;
        return reply.header('cache-control', 'no-store').send({
          officer: req.principal?.name ?? null,
          role: req.principal?.role ?? null,
          canDecide: req.principal ? c.decisionRoles.includes(req.principal.role) : false,
          claimTtlS: c.claimTtlS,
          alertReasons: c.alertReasons,
          imageLinks: c.imageUrlTemplate !== undefined,
        });
      } catch (err) {
        return fail(reply, err);
      }
    });

    app.get<{ Querystring: Static<typeof QueueQuery> }>(
      '/api/inspector/queue',
      { ...read, schema: { querystring: QueueQuery } },
      (req, reply) => {
        try {
          const desk = prepare(req);
          const q = desk.queue(req.query.decided ?? 50);
          return reply
            .header('cache-control', 'no-store')
            .send({ now: new Date(desk.o.clock.wallMs()).toISOString(), ...q });
        } catch (err) {
          return fail(reply, err);
        }
      },
    );

    // server-sent events: `snapshot` first, then `flag` (an entry changed: new, updated, opened,
    // decided) and `alert` (a new entry that needs the officer's attention now)
    app.get('/api/inspector/stream', { config: streamConfig }, (req, reply) => {
      let desk: InspectorDesk;
      try {
        desk = prepare(req);
      } catch (err) {
        return fail(reply, err);
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (event: string, data: unknown): void => {
        if (res.writableLength > SSE_MAX_BUFFER) {
          // a client that does not read: drop it (EventSource reconnects and gets a snapshot)
          res.end();
          return;
        }
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      res.write('retry: 2000\n\n');
      send('snapshot', { now: new Date(desk.o.clock.wallMs()).toISOString(), ...desk.queue(50) });
      const unsubscribe = desk.subscribe((m: DeskMessage) => {
        send(m.kind, m.kind === 'gone' ? { parcelId: m.parcelId } : m.flag);
      });
      // a session that ended (logout, idle timeout) ends its stream (console shell sessions)
      const alive = (req as { sessionAlive?: () => boolean }).sessionAlive ?? (() => true);
      const keepAlive = setInterval(() => {
        if (alive()) res.write(': keep-alive\n\n');
        else res.end();
      }, 15_000);
      const stop = (): void => {
        clearInterval(keepAlive);
        unsubscribe();
      };
      req.raw.on('close', stop);
      res.on('close', stop);
      return reply;
    });

    app.post<{ Params: ParcelParams; Body: Static<typeof ClaimBody> }>(
      '/api/inspector/parcels/:parcelId/claim',
      {
        ...read,
        schema: { params: ParcelParams, body: ClaimBody },
        preValidation: guard(['takeOver']),
      },
      (req, reply) => {
        try {
          const desk = prepare(req);
          const officer = officerOf(req, desk);
          const pid = req.params.parcelId;
          if (!desk.flag(pid))
            throw new EdgeError(
              'EDGE_INSPECTOR_UNKNOWN_PARCEL',
              `parcel ${pid} is not in the queue`,
            );
          const r = desk.claim(pid, officer, req.body?.takeOver === true);
          if (!r.ok)
            throw new EdgeError(
              'EDGE_INSPECTOR_CLAIMED',
              `${r.heldBy.officer} has this parcel open`,
              {
                details: {
                  openedBy: r.heldBy.officer,
                  since: new Date(r.heldBy.sinceMs).toISOString(),
                },
              },
            );
          return reply.send({
            parcelId: pid,
            openedBy: officer,
            until: new Date(r.claim.expiresMs).toISOString(),
            tookOverFrom: r.tookOverFrom,
          });
        } catch (err) {
          return fail(reply, err);
        }
      },
    );

    app.delete<{ Params: ParcelParams }>(
      '/api/inspector/parcels/:parcelId/claim',
      { ...read, schema: { params: ParcelParams }, preValidation: guard([]) },
      (req, reply) => {
        try {
          const desk = prepare(req);
          const officer = officerOf(req, desk);
          return reply.send({ released: desk.release(req.params.parcelId, officer) });
        } catch (err) {
          return fail(reply, err);
        }
      },
    );

    app.post<{ Params: ParcelParams }>(
      '/api/inspector/parcels/:parcelId/ack',
      { ...read, schema: { params: ParcelParams }, preValidation: guard([]) },
      async (req, reply) => {
        try {
          const desk = prepare(req);
          const officer = officerOf(req, desk);
          const pid = req.params.parcelId;
          const flag = desk.flag(pid);
          if (!flag)
            throw new EdgeError(
              'EDGE_INSPECTOR_UNKNOWN_PARCEL',
              `parcel ${pid} is not in the queue`,
            );
          if (flag.ackedBy) return await reply.send({ parcelId: pid, ackedBy: flag.ackedBy });
          const e = await desk.acknowledge(pid, officer);
          return await reply.send({ parcelId: pid, ackedBy: officer, seq: e.seq });
        } catch (err) {
          return fail(reply, err);
        }
      },
    );

    app.post<{ Params: ParcelParams; Body: DecisionBody }>(
      '/api/inspector/parcels/:parcelId/decision',
      {
        ...read,
        schema: { params: ParcelParams, body: DecisionBody },
        preValidation: guard(['action', 'note', 'takeOver', 'revise']),
      },
      async (req, reply) => {
        try {
          const desk = prepare(req);
          const officer = officerOf(req, desk);
          const r = await desk.decide({
            parcelId: req.params.parcelId,
            action: req.body.action,
            note: (req.body.note ?? '').trim(),
            officer,
            takeOver: req.body.takeOver === true,
            revise: req.body.revise === true,
          });
          return await reply.code(201).send(r);
        } catch (err) {
          return fail(reply, err);
        }
      },
    );

    app.get<{ Params: ParcelParams }>(
      '/api/inspector/parcels/:parcelId',
      { ...read, schema: { params: ParcelParams } },
      (req, reply) => {
        try {
          const desk = prepare(req);
          const story = parcelStory(desk, req.params.parcelId);
          if (!story)
            throw new EdgeError(
              'EDGE_INSPECTOR_UNKNOWN_PARCEL',
              `parcel ${req.params.parcelId} is not known here`,
            );
          return reply.header('cache-control', 'no-store').send(story);
        } catch (err) {
          return fail(reply, err);
        }
      },
    );

    app.get<{ Querystring: Static<typeof SearchQuery> }>(
      '/api/inspector/search',
      { ...read, schema: { querystring: SearchQuery } },
      (req, reply) => {
        try {
          const desk = prepare(req);
          return reply.send({ query: req.query.q, hits: searchParcels(desk, req.query.q) });
        } catch (err) {
          return fail(reply, err);
        }
      },
    );

    app.get<{ Querystring: ReportQuery }>(
      '/api/inspector/report',
      { ...read, schema: { querystring: ReportQuery } },
      (req, reply) => {
        try {
          const desk = prepare(req);
          const now = desk.o.clock.wallMs();
          const toMs = req.query.to ? Date.parse(req.query.to) : now;
          const fromMs = req.query.from ? Date.parse(req.query.from) : toMs - 8 * 3_600_000;
          if (!(fromMs < toMs))
            throw new EdgeError('EDGE_INSPECTOR_INVALID', 'from must be before to');
          const flags = desk.store.flagsBetween(fromMs, toMs, REPORT_MAX_ROWS + 1);
          const report = buildShiftReport({
            fromMs,
            toMs,
            nowMs: now,
            flags: flags.slice(0, REPORT_MAX_ROWS),
            decisions: desk.store.decisionsBetween(fromMs, toMs, REPORT_MAX_ROWS),
            truncated: flags.length > REPORT_MAX_ROWS,
          });
          if (req.query.format === 'csv') {
            const name = `shift-report-${report.from.slice(0, 16).replace(/[:T]/g, '')}.csv`;
            return reply
              .header('content-type', 'text/csv; charset=utf-8')
              .header('content-disposition', `attachment; filename="${name}"`)
              .header('cache-control', 'no-store')
              .send(shiftReportCsv(report));
          }
          return reply.header('cache-control', 'no-store').send(report);
        } catch (err) {
          return fail(reply, err);
        }
      },
    );
  };
}
