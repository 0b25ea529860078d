import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.js';
import { UserDirectory, hashPassword } from '../../edge/http/auth.js';
import { createHttpState } from '../../edge/http/sessions.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { withoutSecrets } from '../../config/secrets.js';
import { buildHttpServer } from '../../edge/http/server.js';

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

async function server(now = () => 0) {
  const users = new UserDirectory(
    [
      { name: 'viewer', role: 'viewer', password: 'viewer-secret' },
      { name: 'tech', role: 'technician', passwordHash: await hashPassword('tech-secret') },
      { name: 'nopass', role: 'admin' },
    ],
    now,
  );
  return buildHttpServer({
    log: silentLogger(),
    users,
    board: new ParcelBoard(),
    health: () => ({
      status: 'ok',
      version: 't',
      gatewayId: 'gw',
      uptimeS: 1,
      drivers: [
        {
          id: 'opcua-1',
          kind: 'opcua',
          state: 'degraded',
          lastError: { code: 'EDGE_OPCUA_CONNECT', message: 'opc.tcp://10.1.2.3:4840 refused' },
          details: { pkiDir: '/var/lib/customs-edge/pki', servers: [] },
        },
      ],
      outbox: { pending: 3, path: '/var/lib/customs-edge/outbox.db' },
      uplink: { state: 'connected', url: 'mqtts://platform.example:8883' },
      engine: { tracked: 2, line: { line: 'running' } },
    }),
    runningConfig: () =>
      withoutSecrets({
        http: { users: [{ name: 'tech', password: 'tech-secret' }] },
        uplink: { password: 'mqtt-secret', url: 'mqtt://x' },
      }),
    state: createHttpState({ sessions: { nowMs: now }, throttle: { nowMs: now } }),
  });
}

describe('HTTP authentication and roles', () => {
  it('health is the only route without a login', async () => {
    const app = await server();
    expect((await app.inject({ url: '/api/health' })).statusCode).toBe(200);
    for (const url of ['/api/parcels', '/api/config', '/api/health/details', '/docs/json']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      // no Basic challenge: a browser never caches credentials another site could ride on
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
    await app.close();
  });

  it('health tells states only, whoever asks; the details need a technician', async () => {
    const app = await server();
    const anonymous = await app.inject({ url: '/api/health' });
    expect(anonymous.json()).toEqual({
      status: 'ok',
      version: 't',
      gatewayId: 'gw',
      uptimeS: 1,
      drivers: [{ id: 'opcua-1', kind: 'opcua', state: 'degraded', error: 'EDGE_OPCUA_CONNECT' }],
      outbox: { pending: 3 },
      uplink: { state: 'connected' },
      engine: { line: { line: 'running' } },
    });
    for (const secret of ['10.1.2.3', '/var/lib', 'platform.example']) {
      expect(anonymous.body).not.toContain(secret);
    }
    // credentials are not even looked at on the public route (no password oracle)
    const signedIn = await app.inject({
      url: '/api/health',
      headers: basic('tech', 'tech-secret'),
    });
    expect(signedIn.json()).toEqual(anonymous.json());
    const viewer = await app.inject({
      url: '/api/health/details',
      headers: basic('viewer', 'viewer-secret'),
    });
    expect(viewer.statusCode).toBe(403);
    const full = await app.inject({
      url: '/api/health/details',
      headers: basic('tech', 'tech-secret'),
    });
    expect(full.json()).toMatchObject({
      drivers: [{ details: { pkiDir: '/var/lib/customs-edge/pki' } }],
      uplink: { url: 'mqtts://platform.example:8883' },
    });
    await app.close();
  });

  it('wrong passwords, unknown users and users without a secret are refused', async () => {
    const app = await server();
    expect(
      (await app.inject({ url: '/api/parcels', headers: basic('viewer', 'nope') })).statusCode,
    ).toBe(401);
    expect(
      (await app.inject({ url: '/api/parcels', headers: basic('ghost', 'viewer-secret') }))
        .statusCode,
    ).toBe(401);
    expect(
      (await app.inject({ url: '/api/parcels', headers: basic('nopass', '') })).statusCode,
    ).toBe(401);
    expect(
      (await app.inject({ url: '/api/parcels', headers: basic('viewer', 'viewer-secret') }))
        .statusCode,
    ).toBe(200);
    await app.close();
  });

  it('roles are enforced: a viewer may not read the configuration, a technician may', async () => {
    const app = await server();
    const denied = await app.inject({
      url: '/api/config',
      headers: basic('viewer', 'viewer-secret'),
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: 'EDGE_HTTP_FORBIDDEN' });
    const ok = await app.inject({ url: '/api/config', headers: basic('tech', 'tech-secret') });
    expect(ok.statusCode).toBe(200);
    // secrets never leave the gateway
    expect(ok.body).not.toMatch(/tech-secret|mqtt-secret/);
    expect(ok.json()).toMatchObject({ uplink: { password: '[redacted]', url: 'mqtt://x' } });
    await app.close();
  });

  it('too many failed logins from one address are throttled for a minute', async () => {
    let t = 0;
    const app = await server(() => t);
    for (let i = 0; i < 10; i++) {
      expect(
        (await app.inject({ url: '/api/parcels', headers: basic('viewer', `guess-${i}`) }))
          .statusCode,
      ).toBe(401);
    }
    // even the right password is refused while throttled
    expect(
      (await app.inject({ url: '/api/parcels', headers: basic('viewer', 'viewer-secret') }))
        .statusCode,
    ).toBe(429);
    t += 61_000;
    expect(
      (await app.inject({ url: '/api/parcels', headers: basic('viewer', 'viewer-secret') }))
        .statusCode,
    ).toBe(200);
    await app.close();
  });

  it('an unknown route is 404 whoever asks, not 403', async () => {
    const app = await server();
    for (const headers of [{}, basic('viewer', 'viewer-secret')]) {
      const res = await app.inject({ url: '/api/no-such-thing', headers });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'EDGE_HTTP_NOT_FOUND' });
      expect((await app.inject({ method: 'POST', url: '/nope', headers })).statusCode).toBe(404);
    }
    await app.close();
  });
});
