import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import type { ConfigControl } from '../gateway/config-control.js';
import { installAccessControl, sessionRoutes } from './access.js';
import { registerApiDocs } from './api-docs.js';
import type { UserDirectory } from './auth.js';
import { consoleRoutes } from './console-assets.js';
import type { HttpsServerOptions } from './https-options.js';
import type { ParcelBoard } from './parcel-board.js';
import { configRoutes } from './routes/config-routes.js';
import { eventRoutes, type EventRouteDeps } from './routes/events-routes.js';
import { metricsRoute, type GatewayMetrics } from './metrics.js';
import type { HttpUser } from '../../config/schema.js';
import { lineRoutes, type LineView } from './routes/line-routes.js';
import { createHttpState, type HttpState } from './sessions.js';

/**
 * The technician / inspector HTTP API and the technician console (the SPA in edge/ui, built to
 * dist/ui). Every route needs authentication except GET /api/health and the login; each route
 * names the least role it needs (access.ts).
 */

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
  /** sessions and login throttle; the gateway host keeps one across config changes */
  state?: HttpState;
  /** the live line picture for the console's overview (routes/line-routes.ts) */
  line?: () => LineView;
  /** where the built console is (default: dist/ui of this package) */
  uiDir?: string;
  /** event search over the outbox (routes/events-routes.ts) */
  events?: EventRouteDeps['events'];
  /** the last log lines (GET /api/logs) */
  logTail?: EventRouteDeps['logTail'];
  /** Prometheus metrics and the read-only credential that may scrape them */
  metrics?: GatewayMetrics;
  metricsCredential?: HttpUser;
  /** serve HTTPS (http.tls, loaded by https-options.ts) */
  https?: HttpsServerOptions | null;
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
    outbox: {
      pending: obj(full.outbox).pending ?? null,
      // the outbox's condition: fixed texts with counts, never paths or error texts
      ...(obj(full.outbox).condition ? { condition: obj(full.outbox).condition } : {}),
    },
    uplink: { state: obj(full.uplink).state ?? null },
    engine: { line: obj(full.engine).line ?? null },
    ...(full.line ? { line: { state: obj(full.line).state, reason: obj(full.line).reason } } : {}),
    ...(full.plcHandOff ? { plcHandOff: { state: obj(full.plcHandOff).state ?? null } } : {}),
    ...(full.stackLight ? { stackLight: full.stackLight } : {}),
    ...(lastError.code ? { error: lastError.code } : {}),
  };
}

export interface RegisteredRoute {
  method: string;
  url: string;
  minRole: string | null;
  public: boolean;
}
interface RouteSeen {
  method: string | string[];
  url: string;
  config?: unknown;
}
const ROUTES = new WeakMap<FastifyInstance, RouteSeen[]>();

/** Every route of a server with the role it names (the route x role test walks them all). */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return (ROUTES.get(app) ?? []).flatMap((r) => {
    // read at call time: a later onRoute hook (api-docs) may set the role
    const config = (r.config ?? {}) as { minRole?: string; public?: boolean };
    return (Array.isArray(r.method) ? r.method : [r.method]).map((method) => ({
      method,
      url: r.url,
      minRole: config.minRole ?? null,
      public: config.public === true,
    }));
  });
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // request lines are not logged (they would flood an SD card); warnings and errors are
    loggerInstance: deps.log.child({}, { level: 'warn' }) as FastifyBaseLogger, // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion
    bodyLimit: 1024 * 1024,
    // live streams (SSE) never go idle: a configuration change must not wait for browsers
    forceCloseConnections: true,
    ...(deps.https ? { https: deps.https } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();
  const seen: RouteSeen[] = [];
  ROUTES.set(app, seen);
  app.addHook('onRoute', (r) => {
    seen.push(r);
  });
  const version = deps.health().version;
  await registerApiDocs(app, typeof version === 'string' ? version : '0.0.0');

  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
  // configurations arrive as YAML too (the console's editor, curl --data-binary @file.yaml)
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
    { parseAs: 'string', bodyLimit: 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      code: 'EDGE_HTTP_NOT_FOUND',
      message: `no route ${req.method} ${req.url.split('?')[0]}`,
    }),
  );

  const access = { log: deps.log, users: deps.users, state: deps.state ?? createHttpState() };
  installAccessControl(app, access);
  sessionRoutes(app, access);

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
  // the line state and its reason for the console's header (a viewer sees it first)

  lineRoutes(app, { board: deps.board, ...(deps.line ? { line: deps.line } : {}) });

  app.get('/api/config', { config: { minRole: 'technician' } }, (_req, reply) =>
    reply.header('cache-control', 'no-store').send(deps.runningConfig()),
  );
  if (deps.configControl) {
    configRoutes(app, {
      control: deps.configControl,
      log: deps.log,
      ...(deps.audit ? { audit: deps.audit } : {}),
    });
  }
  eventRoutes(app, {
    ...(deps.events ? { events: deps.events } : {}),
    ...(deps.logTail ? { logTail: deps.logTail } : {}),
  });
  metricsRoute(app, {
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    credential: deps.metricsCredential,
    state: access.state,
  });
  consoleRoutes(app, deps.uiDir);

  for (const register of deps.routes ?? []) await register(app);

  await app.ready();
  return app;
}
