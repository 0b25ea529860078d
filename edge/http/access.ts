import { timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Role } from '../../config/schema.js';
import { Type } from 'typebox';
import { allows, parseBasic, type Principal, type UserDirectory } from './auth.js';
import type { HttpState, LoginAttempt, Session } from './sessions.js';

/**
 * Who may call what, for every route (the onRequest hook) and the login routes.
 *
 * - A state-changing request (POST, PUT, PATCH, DELETE), the login included, is refused when it
 *   comes from another site: an `Origin` that is not this host, or `Sec-Fetch-Site` other than
 *   same-origin / none. Scripts (curl) send neither and pass.
 * - A browser authenticates with the session cookie; its state-changing requests must also carry
 *   the session's CSRF token in `x-csrf-token` (the SPA's api.ts does).
 * - Scripts may send HTTP Basic credentials. The gateway never sends a Basic challenge, so a
 *   browser never caches credentials that another site's page could ride on.
 * - Unknown routes answer 404 whoever asks; every known route names its least role or is public.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** least role allowed; absent only on public routes */
    minRole?: Role;
    public?: boolean;
    /** a background request (live stream, poll): does not count as activity for the idle timeout */
    background?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
    session?: Session;
    /** false once the session that authenticated this request has ended (long streams check it) */
    sessionAlive?: () => boolean;
  }
}

export const SESSION_COOKIE = 'edge_session';
export const DEVICE_COOKIE = 'edge_device';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !(name in out)) out[name] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

/** The request comes from a page of this gateway, or from no page at all (a script). */
export function sameOrigin(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false; // 'null' (sandboxed frame, file:) and garbage
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const deny = (reply: FastifyReply, status: number, code: string, message: string) =>
  reply.code(status).send({ code, message });

export interface AccessDeps {
  log: Logger;
  users: UserDirectory;
  state: HttpState;
}

function cookie(req: FastifyRequest, name: string, value: string, attrs: string): string {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  return `${name}=${value}; HttpOnly; SameSite=Strict${secure}; ${attrs}`;
}

/** The onRequest hook: origin check, authentication, CSRF, role. */
export function installAccessControl(app: FastifyInstance, deps: AccessDeps): void {
  const { users, state, log } = deps;

  const authenticate = async (
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Principal | null> => {
    const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (token) {
      const background =
        req.routeOptions.config.background === true || req.headers['x-edge-background'] === '1';
      const session = state.sessions.get(token, !background);
      if (session && users.roleOf(session.name) === session.role) {
        req.session = session;
        req.sessionAlive = () => state.sessions.get(token, false) !== null;
        return { name: session.name, role: session.role };
      }
      if (session) state.sessions.delete(token); // user removed or role changed by a config change
    }
    const basic = parseBasic(req.headers.authorization);
    if (!basic) {
      void deny(reply, 401, 'EDGE_HTTP_AUTH_REQUIRED', 'authentication required');
      return null;
    }
    const known = users.cached(basic.name, basic.password);
    if (known) return known;
    const attempt: LoginAttempt = { address: req.ip, user: basic.name, device: null };
    const refused = state.throttle.refused(attempt);
    if (refused) {
      void deny(reply, 429, 'EDGE_HTTP_AUTH_REQUIRED', `${refused}; try again in a minute`);
      return null;
    }
    const principal = await users.verify(basic.name, basic.password);
    if (!principal) {
      state.throttle.failed(attempt);
      log.warn({ client: req.ip, url: req.url }, 'failed login');
      void deny(reply, 401, 'EDGE_HTTP_AUTH_REQUIRED', 'authentication required');
      return null;
    }
    state.throttle.succeeded(attempt);
    return principal;
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    // no such route: the not-found handler answers 404 to anyone
    if (req.routeOptions.url === undefined) return undefined;
    const unsafe = UNSAFE.has(req.method);
    if (unsafe && !sameOrigin(req)) {
      return deny(reply, 403, 'EDGE_HTTP_ORIGIN', 'cross-site request refused');
    }
    const config = req.routeOptions.config;
    if (config.public) return undefined;
    const principal = await authenticate(req, reply);
    if (!principal) return reply;
    if (unsafe && req.session) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !equal(sent, req.session.csrf))
        return deny(reply, 403, 'EDGE_HTTP_CSRF', 'missing or wrong CSRF token (x-csrf-token)');
    }
    const minRole = config.minRole ?? 'admin';
    if (!allows(principal, minRole)) {
      return deny(
        reply,
        403,
        'EDGE_HTTP_FORBIDDEN',
        `role ${principal.role} may not do this (needs ${minRole})`,
      );
    }
    req.principal = principal;
    return undefined;
  });
}

const LoginBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
const SessionReply = Type.Object({
  name: Type.String(),
  role: Type.String(),
  csrfToken: Type.Union([Type.String(), Type.Null()]),
  idleTimeoutS: Type.Integer(),
});

/** POST /api/session (log in), GET /api/session (who am I), DELETE /api/session (log out). */
export function sessionRoutes(fastify: FastifyInstance, deps: AccessDeps): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { users, state, log } = deps;
  const idleTimeoutS = Math.round(state.sessions.idleMs / 1000);

  app.post(
    '/api/session',
    {
      config: { public: true },
      schema: { body: LoginBody, response: { 200: SessionReply }, tags: ['session'] },
    },
    async (req, reply) => {
      const { name, password } = req.body;
      const device = state.throttle.deviceFor(
        parseCookies(req.headers.cookie)[DEVICE_COOKIE],
        name,
      );
      const attempt: LoginAttempt = { address: req.ip, user: name, device };
      const refused = state.throttle.refused(attempt);
      if (refused)
        return deny(reply, 429, 'EDGE_HTTP_AUTH_REQUIRED', `${refused}; try again in a minute`);
      const principal = await users.verify(name, password);
      if (!principal) {
        state.throttle.failed(attempt);
        log.warn({ client: req.ip, user: name }, 'failed login');
        return deny(reply, 401, 'EDGE_HTTP_AUTH_REQUIRED', 'wrong user name or password');
      }
      state.throttle.succeeded(attempt);
      const { token, session } = state.sessions.create(principal);
      log.info({ client: req.ip, user: name, role: principal.role }, 'login');
      void reply.header('set-cookie', [
        cookie(req, SESSION_COOKIE, token, 'Path=/'),
        cookie(
          req,
          DEVICE_COOKIE,
          state.throttle.deviceCookie(name),
          'Path=/api/session; Max-Age=2592000',
        ),
      ]);
      return reply.header('cache-control', 'no-store').send({
        name: session.name,
        role: session.role,
        csrfToken: session.csrf,
        idleTimeoutS,
      });
    },
  );

  app.get(
    '/api/session',
    {
      config: { minRole: 'viewer', background: true },
      schema: { response: { 200: SessionReply }, tags: ['session'] },
    },
    async (req, reply) =>
      reply.header('cache-control', 'no-store').send({
        name: req.principal?.name ?? '?',
        role: req.principal?.role ?? 'viewer',
        csrfToken: req.session?.csrf ?? null,
        idleTimeoutS,
      }),
  );

  app.delete(
    '/api/session',
    { config: { minRole: 'viewer' }, schema: { tags: ['session'] } },
    (req, reply) => {
      const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
      if (token) state.sessions.delete(token);
      return reply
        .header('set-cookie', cookie(req, SESSION_COOKIE, '', 'Path=/; Max-Age=0'))
        .send({ loggedOut: true });
    },
  );
}
