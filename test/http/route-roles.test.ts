import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { GatewayHost } from '../../edge/gateway/host.js';
import { registeredRoutes } from '../../edge/http/server.js';
import { silentLogger } from '../../edge/log.js';
import { LogTail } from '../../edge/log-tail.js';

/**
 * Every route of a full gateway (console, line, config, events, logs, gates, serial, OPC UA,
 * targeting, metrics, docs) against every role through inject(): no login -> 401, a role below
 * the route's -> 403, the route's role and above -> neither. A route missing from EXPECTED fails
 * the test, so a new route has to say who may call it. Every state-changing route also refuses a
 * session without the CSRF token and a request from another site.
 */
const EXPECTED: Record<string, 'public' | 'viewer' | 'inspector' | 'technician' | 'admin'> = {
  'GET /api/health': 'public',
  'GET /api/health/details': 'technician',
  'POST /api/session': 'public',
  'GET /api/session': 'viewer',
  'DELETE /api/session': 'viewer',
  'GET /': 'public',
  'GET /assets/:file': 'public',
  'GET /metrics': 'public',
  'GET /api/parcels': 'viewer',
  'GET /api/parcels/stream': 'viewer',
  'GET /api/line': 'viewer',
  'GET /api/line/stream': 'viewer',
  'GET /api/config': 'technician',
  'GET /api/config/schema': 'technician',
  'GET /api/config/file': 'technician',
  'POST /api/config/validate': 'technician',
  'PUT /api/config': 'admin',
  'GET /api/config/last-apply': 'technician',
  'GET /api/config/history': 'technician',
  'GET /api/config/history/:id': 'technician',
  'POST /api/config/history/:id/restore': 'admin',
  'GET /api/events': 'inspector',
  'GET /api/logs': 'technician',
  'GET /api/logs/stream': 'technician',
  'GET /api/gates': 'technician',
  'POST /api/gates/outputs/:id/fire': 'technician',
  'POST /api/gates/outputs/:id/release': 'technician',
  'POST /api/gates/lights/:light': 'technician',
  'PUT /api/gates/maintenance': 'admin',
  'GET /api/serial/ports': 'technician',
  'GET /api/serial/drivers/:driverId/monitor': 'technician',
  'POST /api/serial/drivers/:driverId/command': 'technician',
  'GET /api/opcua/servers': 'technician',
  'GET /api/opcua/certificates': 'technician',
  'POST /api/opcua/certificates/:thumbprint/trust': 'technician',
  'DELETE /api/opcua/certificates/:thumbprint': 'technician',
  'GET /api/opcua/drivers/:driverId/own-certificate': 'technician',
  'GET /api/opcua/servers/:serverId/browse': 'technician',
  'GET /api/opcua/servers/:serverId/read': 'technician',
  'GET /api/targeting': 'inspector',
  'PUT /api/targeting': 'admin',
  'GET /docs/': 'viewer',
  'GET /docs/json': 'viewer',
  'GET /docs/yaml': 'viewer',
  'GET /docs/static/*': 'viewer',
  'GET /docs/static/index.html': 'viewer',
  'GET /docs/static/swagger-initializer.js': 'viewer',
  'GET /api/inspector/settings': 'inspector',
  'GET /api/inspector/queue': 'inspector',
  'GET /api/inspector/stream': 'inspector',
  'GET /api/inspector/search': 'inspector',
  'GET /api/inspector/report': 'inspector',
  'GET /api/inspector/parcels/:parcelId': 'inspector',
  'POST /api/inspector/parcels/:parcelId/claim': 'inspector',
  'DELETE /api/inspector/parcels/:parcelId/claim': 'inspector',
  'POST /api/inspector/parcels/:parcelId/ack': 'inspector',
  'POST /api/inspector/parcels/:parcelId/decision': 'inspector',
};

/**
 * Routes only some roles may call whatever their rank (inspector.decisionRoles, default
 * inspector only: a technician or an admin reads the queue but does not decide customs matters).
 */
const ONLY: Record<string, readonly string[]> = {
  'POST /api/inspector/parcels/:parcelId/claim': ['inspector'],
  'DELETE /api/inspector/parcels/:parcelId/claim': ['inspector'],
  'POST /api/inspector/parcels/:parcelId/ack': ['inspector'],
  'POST /api/inspector/parcels/:parcelId/decision': ['inspector'],
};

const ROLES = ['viewer', 'inspector', 'technician', 'admin'] as const;
const RANK = { viewer: 0, inspector: 1, technician: 2, admin: 3 };
const basic = (name: string) => ({
  authorization: `Basic ${Buffer.from(`${name}:${name}-password`).toString('base64')}`,
});
const sample = (url: string) =>
  url
    .replace(':thumbprint', 'a'.repeat(40))
    .replace(':light', 'red')
    .replace(':file', 'nothing.js')
    .replace('*', 'index.html')
    .replace(/:[A-Za-z]+/g, 'x');

describe('every route against every role', () => {
  let dir: string;
  let host: GatewayHost;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-routes-'));
    const file = join(dir, 'gateway.yaml');
    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    doc.dataDir = join(dir, 'data');
    doc.log = { level: 'silent', pretty: false };
    doc.http.port = 0;
    doc.embeddedBroker.port = 0;
    doc.http.users = ROLES.map((r) => ({ name: r, role: r, password: `${r}-password` }));
    const text = stringify(doc);
    writeFileSync(file, text);
    host = new GatewayHost({
      file,
      driverKinds: DRIVER_KINDS,
      log: silentLogger(),
      clock: systemClock,
      version: 't',
      secrets: { env: {}, readFile: () => '' },
      logTail: new LogTail(),
    });
    await host.start();
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every registered route names who may call it, as expected', () => {
    const routes = registeredRoutes(host.gateway!.http!).filter((r) => r.method !== 'HEAD');
    const actual = Object.fromEntries(
      routes.map((r) => [`${r.method} ${r.url}`, r.public ? 'public' : (r.minRole ?? 'admin')]),
    );
    for (const key of Object.keys(actual))
      expect(EXPECTED[key], `${key} is not in EXPECTED`).toBeDefined();
    for (const [key, role] of Object.entries(actual)) expect(role, key).toBe(EXPECTED[key]);
    // the list is not stale either
    for (const key of Object.keys(EXPECTED))
      expect(actual[key], `${key} is not registered`).toBeDefined();
  });

  it('no login 401, a lower role 403, the role and above pass', async () => {
    const app = host.gateway!.http!;
    const routes = registeredRoutes(app).filter((r) => r.method !== 'HEAD' && !r.public);
    for (const r of routes) {
      const url = sample(r.url);
      const min = EXPECTED[`${r.method} ${r.url}`] as keyof typeof RANK;
      const method = r.method as 'GET';
      const anonymous = await app.inject({ method, url });
      expect(anonymous.statusCode, `${r.method} ${url} anonymous`).toBe(401);
      const only = ONLY[`${r.method} ${r.url}`];
      for (const role of ROLES) {
        const allowed = only ? only.includes(role) : RANK[role] >= RANK[min];
        // a live stream never ends: for allowed roles only routes that answer are called
        if (allowed && url.endsWith('/stream')) continue;
        const res = await app.inject({
          method,
          url,
          headers: basic(role),
          ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} }),
        });
        if (allowed)
          expect([401, 403], `${r.method} ${url} as ${role}: ${res.body}`).not.toContain(
            res.statusCode,
          );
        else {
          expect(res.statusCode, `${r.method} ${url} as ${role}`).toBe(403);
          expect(res.json()).toMatchObject({ code: 'EDGE_HTTP_FORBIDDEN' });
        }
      }
    }
  }, 120_000);

  it('every state-changing route refuses a cross-site request and a session without the CSRF token', async () => {
    const app = host.gateway!.http!;
    const login = await app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { name: 'admin', password: 'admin-password' },
    });
    const cookie = String((login.headers['set-cookie'] as string[])[0]).split(';')[0]!;
    const unsafe = registeredRoutes(app).filter((r) =>
      ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method),
    );
    expect(unsafe.length).toBeGreaterThan(10);
    for (const r of unsafe) {
      const url = sample(r.url);
      const method = r.method as 'POST';
      const crossSite = await app.inject({
        method,
        url,
        headers: { ...basic('admin'), origin: 'http://attacker.example', host: 'gw' },
        payload: {},
      });
      expect(crossSite.statusCode, `${r.method} ${url} cross-site`).toBe(403);
      expect(crossSite.json()).toMatchObject({ code: 'EDGE_HTTP_ORIGIN' });
      if (r.public) continue;
      const noToken = await app.inject({ method, url, headers: { cookie }, payload: {} });
      expect(noToken.statusCode, `${r.method} ${url} without CSRF`).toBe(403);
      expect(noToken.json()).toMatchObject({ code: 'EDGE_HTTP_CSRF' });
    }
  });
});
