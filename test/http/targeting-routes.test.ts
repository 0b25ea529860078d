import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserDirectory } from '../../edge/http/auth.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { targetingRoutes } from '../../edge/http/routes/targeting-routes.js';
import { buildHttpServer } from '../../edge/http/server.js';
import { silentLogger } from '../../edge/log.js';
import { TargetingStore } from '../../edge/targeting/targeting-store.js';

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('targeting list over HTTP (real SQLite store)', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function setup() {
    const dir = mkdtempSync(join(tmpdir(), 'edge-targeting-'));
    dirs.push(dir);
    const store = new TargetingStore({
      file: join(dir, 'targeting.sqlite'),
      log: silentLogger(),
      wallMs: Date.now,
    });
    const audits: Record<string, unknown>[] = [];
    const app = await buildHttpServer({
      log: silentLogger(),
      users: new UserDirectory([
        { name: 'officer', role: 'inspector', password: 'officer-secret' },
        { name: 'admin', role: 'admin', password: 'admin-secret' },
      ]),
      board: new ParcelBoard(),
      health: () => ({ status: 'ok' }),
      runningConfig: () => ({}),
      routes: [
        targetingRoutes({
          store: () => store,
          replace: (v, e, s) => store.replace(v, e, s),
          audit: (a) => audits.push(a),
        }),
      ],
    });
    return { app, store, audits };
  }

  it('an admin replaces the list; an inspector sees it but may not change it; every attempt is audited', async () => {
    const { app, store, audits } = await setup();
    const body = {
      version: 'v1',
      entries: [
        { id: 'r1', match: 'exact', pattern: 'RD223479072CN', reason: 'risk' },
        { id: 'r2', match: 'prefix', pattern: 'SF12' },
      ],
    };
    expect(
      (
        await app.inject({
          method: 'PUT',
          url: '/api/targeting',
          headers: basic('officer', 'officer-secret'),
          payload: body,
        })
      ).statusCode,
    ).toBe(403);
    const ok = await app.inject({
      method: 'PUT',
      url: '/api/targeting',
      headers: basic('admin', 'admin-secret'),
      payload: body,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ version: 'v1', entries: 2 });
    expect(store.active()?.match('SF1234567')).toMatchObject({ entryId: 'r2' });
    const view = await app.inject({
      url: '/api/targeting',
      headers: basic('officer', 'officer-secret'),
    });
    expect(view.json()).toMatchObject({ active: { version: 'v1', entries: 2 } });
    // a version is used once: the same version again is rejected with the reason, list unchanged
    const again = await app.inject({
      method: 'PUT',
      url: '/api/targeting',
      headers: basic('admin', 'admin-secret'),
      payload: { version: 'v1', entries: [] },
    });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('EDGE_TARGETING_INVALID');
    expect(store.active()?.version).toBe('v1');
    expect(audits.map((a) => a.result)).toEqual(['applied', 'rejected']);
    await app.close();
    store.close();
  });

  it('a malformed body is refused by the schema before it reaches the store', async () => {
    const { app, store } = await setup();
    const res = await app.inject({
      method: 'PUT',
      url: '/api/targeting',
      headers: basic('admin', 'admin-secret'),
      payload: { version: 'v2', entries: [{ id: 'x', match: 'regex', pattern: '.*' }] },
    });
    expect(res.statusCode).toBe(400);
    expect(store.active()).toBeNull();
    await app.close();
    store.close();
  });
});
