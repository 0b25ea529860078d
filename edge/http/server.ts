import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { Role } from '../../config/schema.js';
import type { ConfigControl } from '../config-control.js';
import { allows, type Principal, type UserDirectory } from './auth.js';
import type { HttpsServerOptions } from './https-options.js';
import type { ParcelBoard } from './parcel-board.js';
import { withoutSecrets } from './redact.js';
import { STATUS_PAGE_HTML } from './status-page.js';

/**
 * The technician / inspector HTTP API and the status page. Every route needs authentication
 * except GET /api/health; each route names the least role it needs.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** least role allowed; absent only on public routes */
    minRole?: Role;
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** A module's routes (serial, gates, OPC UA...), registered by the composition root. */
export type RouteModule = (app: FastifyInstance) => void | Promise<void>;

export interface HttpDeps {
  log: Logger;
  users: UserDirectory;
  health: () => Record<string, unknown>;
  board: ParcelBoard;
  /** the running configuration with secrets removed (technician view) */
  runningConfig: () => unknown;
  routes?: readonly RouteModule[];
  configControl?: ConfigControl;
  audit?: (entry: { action: string; actor: string } & Record<string, unknown>) => void;
  /** serve HTTPS (http.tls, loaded by https-options.ts) */
  https?: HttpsServerOptions | null;
  /** failed logins allowed per client address per minute before 429 */
  maxFailedLoginsPerMinute?: number;
  nowMs?: () => number;
}

export const HealthSchema = Type.Object(
  {
    status: Type.Union([
      Type.Literal('ok'),
      Type.Literal('degraded'),
      Type.Literal('starting'),
      Type.Literal('stopping'),
    ]),
    version: Type.String(),
    gatewayId: Type.String(),
    uptimeS: Type.Number(),
    drivers: Type.Array(Type.Object({}, { additionalProperties: true })),
    outbox: Type.Object({}, { additionalProperties: true }),
    uplink: Type.Object({}, { additionalProperties: true }),
    engine: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: true },
);

/** What /api/health tells a caller without credentials: states, never addresses or paths. */
export function publicHealth(full: Record<string, unknown>): Record<string, unknown> {
  const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
  const drivers = Array.isArray(full.drivers) ? (full.drivers as unknown[]) : [];
  const lastError = obj(full.lastError);
  return {
    status: full.status,
    version: full.version,
    gatewayId: full.gatewayId,
    uptimeS: full.uptimeS,
    drivers: drivers.map((d) => {
      const r = obj(d);
      const err = obj(r.lastError);
      return { id: r.id, kind: r.kind, state: r.state, error: err.code ?? null };
    }),
    outbox: { pending: obj(full.outbox).pending ?? null },
    uplink: { state: obj(full.uplink).state ?? null },
    engine: { line: obj(full.engine).line ?? null },
    ...(full.stackLight ? { stackLight: full.stackLight } : {}),
    ...(lastError.code ? { error: lastError.code } : {}),
  };
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // request lines are not logged (they would flood an SD card); warnings and errors are
    loggerInstance: deps.log.child({}, { level: 'warn' }) as FastifyBaseLogger, // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion
    bodyLimit: 1024 * 1024,
    ...(deps.https ? { https: deps.https } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const now = deps.nowMs ?? Date.now;
  const failures = new Map<string, { count: number; since: number }>();
  const maxFailures = deps.maxFailedLoginsPerMinute ?? 10;

  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('referrer-policy', 'no-referrer');
    return payload;
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const routeConfig = req.routeOptions.config;
    if (routeConfig.public) return;
    const client = req.ip;
    const record = failures.get(client);
    if (record && now() - record.since > 60_000) failures.delete(client);
    if ((failures.get(client)?.count ?? 0) >= maxFailures) {
      void reply.code(429).send({
        code: 'EDGE_HTTP_AUTH_REQUIRED',
        message: 'too many failed logins, try again in a minute',
      });
      return reply;
    }
    const principal = deps.users.verifyBasic(req.headers.authorization);
    if (!principal) {
      if (req.headers.authorization) {
        const r = failures.get(client) ?? { count: 0, since: now() };
        r.count++;
        failures.set(client, r);
        if (failures.size > 10_000) failures.clear();
        deps.log.warn({ client, url: req.url }, 'failed login');
      }
      void reply
        .code(401)
        .header('www-authenticate', 'Basic realm="customs edge gateway", charset="UTF-8"')
        .send({ code: 'EDGE_HTTP_AUTH_REQUIRED', message: 'authentication required' });
      return reply;
    }
    const minRole = routeConfig.minRole ?? 'admin';
    if (!allows(principal, minRole)) {
      void reply.code(403).send({
        code: 'EDGE_HTTP_FORBIDDEN',
        message: `role ${principal.role} may not do this (needs ${minRole})`,
      });
      return reply;
    }
    req.principal = principal;
    return undefined;
  });

  app.get(
    '/api/health',
    { config: { public: true }, schema: { response: { 200: HealthSchema, 503: HealthSchema } } },
    async (_req, reply) => {
      // anyone may ask whether the gateway is up: states only. Credentials are not looked at
      // here (a public route must not become a password oracle outside the login throttle).
      const full = deps.health() as { status: string };
      return reply
        .code(full.status === 'ok' || full.status === 'degraded' ? 200 : 503)
        .send(publicHealth(full) as never);
    },
  );

  // the details (driver endpoints, device paths, PKI folder, broker address, error texts)
  app.get(
    '/api/health/details',
    { config: { minRole: 'technician' }, schema: { response: { 200: HealthSchema } } },
    async (_req, reply) => reply.send(deps.health() as never),
  );

  app.get('/', { config: { minRole: 'viewer' } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(STATUS_PAGE_HTML),
  );

  app.get('/api/parcels', { config: { minRole: 'viewer' } }, (_req, reply) =>
    reply.send({ totals: deps.board.totals, parcels: deps.board.list() }),
  );

  app.get('/api/parcels/stream', { config: { minRole: 'viewer' } }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(
      `event: snapshot\ndata: ${JSON.stringify({ totals: deps.board.totals, parcels: deps.board.list() })}\n\n`,
    );
    const unsubscribe = deps.board.subscribe((row) => {
      res.write(`data: ${JSON.stringify({ row, totals: deps.board.totals })}\n\n`);
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  });

  app.get('/api/config', { config: { minRole: 'technician' } }, (_req, reply) =>
    reply.header('cache-control', 'no-store').send(deps.runningConfig()),
  );

  const control = deps.configControl;
  if (control) {
    // the file as written: secret references (${env:...}) stay references, literal secrets are hidden
    app.get('/api/config/file', { config: { minRole: 'admin' } }, (_req, reply) =>
      reply.header('cache-control', 'no-store').send(withoutSecrets(control.current())),
    );
    app.post('/api/config/validate', { config: { minRole: 'technician' } }, (req, reply) => {
      const issues = control.validate(req.body);
      return reply.code(issues.length ? 400 : 200).send({ valid: issues.length === 0, issues });
    });
    // Validated now; applied after the reply (applying restarts this server). The outcome is at
    // GET /api/config/last-apply and in the audit events.
    app.put('/api/config', { config: { minRole: 'admin' } }, (req, reply) => {
      const issues = control.validate(req.body);
      if (issues.length > 0) {
        deps.audit?.({
          action: 'config.put',
          actor: req.principal?.name ?? '?',
          result: 'rejected',
          issues,
        });
        return reply.code(400).send({
          code: 'EDGE_CONFIG_INVALID',
          message: `configuration rejected (${issues.length} errors); running configuration kept`,
          issues,
        });
      }
      const actor = req.principal?.name ?? '?';
      reply.raw.once('finish', () => {
        control
          .apply(req.body, actor)
          .catch((err: unknown) => deps.log.error({ err }, 'config apply failed'));
      });
      return reply
        .code(202)
        .send({ accepted: true, message: 'valid; applying (the gateway restarts its pipeline)' });
    });
    app.get('/api/config/last-apply', { config: { minRole: 'technician' } }, (_req, reply) =>
      reply.send(control.lastResult ?? { message: 'no configuration change since start' }),
    );
  }

  for (const register of deps.routes ?? []) await register(app);

  await app.ready();
  return app;
}
