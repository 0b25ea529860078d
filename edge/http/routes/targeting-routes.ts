import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { TargetingList } from '../../targeting/targeting-list.js';
import type { TargetingStore } from '../../targeting/targeting-store.js';
import { isEdgeError } from '../../errors.js';

/**
 * The targeting list (布控) over HTTP: inspectors see the active version and hit counts; an admin
 * can replace the list when the platform cannot (the platform's targeting-replace command is the
 * normal path). Every replacement attempt is audited.
 */

const EntrySchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 128 }),
    match: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]),
    pattern: Type.String({ minLength: 1, maxLength: 64 }),
    reason: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false },
);

const ReplaceSchema = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: 128 }),
    entries: Type.Array(EntrySchema, { maxItems: 1_000_000 }),
  },
  { additionalProperties: false },
);

export interface TargetingRouteDeps {
  store: () => TargetingStore | null;
  replace: (version: string, entries: readonly unknown[], source: string) => TargetingList;
  audit: (entry: { action: string; actor: string } & Record<string, unknown>) => void;
}

export function targetingRoutes(deps: TargetingRouteDeps) {
  return (app: FastifyInstance): void => {
    app.get('/api/targeting', { config: { minRole: 'inspector' } }, (_req, reply) => {
      const store = deps.store();
      if (!store)
        return reply
          .code(503)
          .send({ code: 'EDGE_TARGETING_UNAVAILABLE', message: 'no targeting store' });
      const active = store.active();
      return reply.header('cache-control', 'no-store').send({
        active: active ? { version: active.version, entries: active.size } : null,
        entries: store.stats(),
        versions: store.versions().slice(0, 20),
      });
    });

    app.put<{ Body: Static<typeof ReplaceSchema> }>(
      '/api/targeting',
      { config: { minRole: 'admin' }, schema: { body: ReplaceSchema } },
      (req, reply) => {
        const actor = req.principal?.name ?? '?';
        try {
          const list = deps.replace(req.body.version, req.body.entries, `http:${actor}`);
          deps.audit({
            action: 'targeting.replace',
            actor,
            result: 'applied',
            version: list.version,
            entries: list.size,
          });
          return reply.send({ version: list.version, entries: list.size });
        } catch (err) {
          deps.audit({
            action: 'targeting.replace',
            actor,
            result: 'rejected',
            version: req.body.version,
            error: (err as Error).message,
          });
          if (isEdgeError(err))
            return reply
              .code(400)
              .send({ code: err.code, message: err.message, details: err.details });
          throw err;
        }
      },
    );
  };
}
