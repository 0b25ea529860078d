import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { UserDirectory } from '../../edge/http/auth.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { buildHttpServer } from '../../edge/http/server.js';
import { createHttpState, type ThrottleOptions } from '../../edge/http/sessions.js';
import { silentLogger } from '../../edge/log.js';

/** Console login: session cookie, CSRF and Origin checks, idle timeout, login throttle. */

async function server(o: { now?: () => number; throttle?: ThrottleOptions } = {}) {
  const now = o.now ?? (() => 0);
  const audits: unknown[] = [];
  const app = await buildHttpServer({
    log: silentLogger(),
    users: new UserDirectory(
      [
        { name: 'viewer', role: 'viewer', password: 'viewer-secret' },
        { name: 'tech', role: 'technician', password: 'tech-secret' },
      ],
      now,
    ),
    board: new ParcelBoard(),
    health: () => ({ status: 'ok', version: 't' }),
    runningConfig: () => ({}),
    state: createHttpState({
      sessions: { nowMs: now, idleMs: 60_000 },
      throttle: { nowMs: now, ...o.throttle },
    }),
    audit: (e) => audits.push(e),
  });
  return { app, audits };
}

const HOST = { host: 'gw.local:8080' };

async function login(
  app: Awaited<ReturnType<typeof server>>['app'],
  name: string,
  password: string,
  extra: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { ...HOST, origin: 'http://gw.local:8080', ...extra },
    payload: { name, password },
  });
}

function cookies(res: { headers: Record<string, unknown> }): Record<string, string> {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  return Object.fromEntries(
    list.map((c) => {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

describe('console login', () => {
  it('sets an HttpOnly SameSite=Strict session cookie and answers who is logged in', async () => {
    const { app } = await server();
    const res = await login(app, 'tech', 'tech-secret');
    expect(res.statusCode).toBe(200);
    const raw = String((res.headers['set-cookie'] as string[])[0]);
    expect(raw).toMatch(/^edge_session=[^;]+; HttpOnly; SameSite=Strict; Path=\//);
    const body = res.json<{ role: string; csrfToken: string }>();
    expect(body).toMatchObject({ name: 'tech', role: 'technician', idleTimeoutS: 60 });
    const cookie = `edge_session=${cookies(res).edge_session}`;
    const me = await app.inject({ url: '/api/session', headers: { cookie } });
    expect(me.json()).toMatchObject({ name: 'tech', csrfToken: body.csrfToken });
    expect((await app.inject({ url: '/api/parcels', headers: { cookie } })).statusCode).toBe(200);
    expect((await login(app, 'tech', 'wrong')).statusCode).toBe(401);
    await app.close();
  });

  it('refuses a write without the CSRF token or from another site, even with a session', async () => {
    const { app } = await server();
    const res = await login(app, 'tech', 'tech-secret');
    const cookie = `edge_session=${cookies(res).edge_session}`;
    const csrf = res.json<{ csrfToken: string }>().csrfToken;
    const logout = (headers: Record<string, string>) =>
      app.inject({
        method: 'DELETE',
        url: '/api/session',
        headers: { ...HOST, cookie, ...headers },
      });
    const noToken = await logout({});
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json()).toMatchObject({ code: 'EDGE_HTTP_CSRF' });
    expect((await logout({ 'x-csrf-token': 'forged' })).json()).toMatchObject({
      code: 'EDGE_HTTP_CSRF',
    });
    const crossSite = await logout({ 'x-csrf-token': csrf, origin: 'http://evil.example' });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json()).toMatchObject({ code: 'EDGE_HTTP_ORIGIN' });
    expect(
      (await logout({ 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' })).statusCode,
    ).toBe(403);
    // the session survived all that; a proper logout ends it
    expect(
      (await logout({ 'x-csrf-token': csrf, origin: 'http://gw.local:8080' })).statusCode,
    ).toBe(200);
    expect((await app.inject({ url: '/api/session', headers: { cookie } })).statusCode).toBe(401);
    await app.close();
  });

  it('a login from another site is refused (login CSRF)', async () => {
    const { app } = await server();
    const res = await login(app, 'tech', 'tech-secret', { origin: 'http://evil.example' });
    expect(res.statusCode).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
    await app.close();
  });

  it('a session ends after the idle timeout; background polls do not keep it alive', async () => {
    let t = 0;
    const { app } = await server({ now: () => t });
    const cookie = `edge_session=${cookies(await login(app, 'viewer', 'viewer-secret')).edge_session}`;
    t += 50_000;
    // a background request (live stream, poll) is not activity
    expect(
      (await app.inject({ url: '/api/parcels', headers: { cookie, 'x-edge-background': '1' } }))
        .statusCode,
    ).toBe(200);
    t += 15_000;
    expect((await app.inject({ url: '/api/parcels', headers: { cookie } })).statusCode).toBe(401);
    await app.close();
  });

  it("another client's guessing does not lock out a technician who logged in on this browser", async () => {
    const { app } = await server({ throttle: { perAddress: 5, perUser: 5, global: 8 } });
    const first = await login(app, 'tech', 'tech-secret', { 'x-forwarded-for': '10.0.0.9' });
    const device = cookies(first).edge_device;
    expect(device).toBeTruthy();
    // an attacker guesses the technician's password from many addresses (remoteAddress is the
    // same under inject, so the per-address limit is what stops one address)
    let refused = 0;
    for (let i = 0; i < 12; i++) {
      const r = await login(app, 'tech', `guess-${i}`);
      if (r.statusCode === 429) refused++;
    }
    expect(refused).toBeGreaterThan(0);
    // an unknown browser is now refused, even with the right password...
    expect((await login(app, 'tech', 'tech-secret')).statusCode).toBe(429);
    // ...but the technician's own browser (device cookie) gets in
    const mine = await login(app, 'tech', 'tech-secret', { cookie: `edge_device=${device}` });
    expect(mine.statusCode).toBe(200);
    // a device cookie is bound to its user
    expect(
      (await login(app, 'viewer', 'viewer-secret', { cookie: `edge_device=${device}` })).statusCode,
    ).toBe(429);
    await app.close();
  });

  it('scrypt runs off the event loop: a burst of wrong logins does not stall it', async () => {
    const { app } = await server({ throttle: { perAddress: 1000, perUser: 1000, global: 1000 } });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => login(app, 'tech', `wrong-${i}`)),
    );
    delay.disable();
    expect(results.every((r) => r.statusCode === 401)).toBe(true);
    // 40 synchronous scrypt calls stall the loop for 2 s or more (~50 ms each on an idle
    // machine); off the loop the worst gap is what the rest of the request handling costs (the
    // bound leaves room for a loaded shared machine)
    expect(delay.max / 1e6).toBeLessThan(1000);
    await app.close();
  });
});
