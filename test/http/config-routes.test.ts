import { describe, expect, it } from 'vitest';
import type { ApplyResult, ConfigControl } from '../../edge/gateway/config-control.js';
import { silentLogger } from '../../edge/log.js';
import { UserDirectory } from '../../edge/http/auth.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { buildHttpServer } from '../../edge/http/server.js';

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

function control(): ConfigControl & { applied: { doc: unknown; actor: string }[] } {
  const applied: { doc: unknown; actor: string }[] = [];
  let resolveApplied: () => void = () => undefined;
  const c = {
    applied,
    lastResult: null as ApplyResult | null,
    done: new Promise<void>((r) => (resolveApplied = r)),
    current: () => ({
      version: 1,
      uplink: { password: '${env:MQTT_PW}' },
      http: { users: [{ name: 'a', password: 'literal-secret' }] },
    }),
    validate: (doc: unknown) =>
      (doc as { ok?: boolean }).ok
        ? []
        : [{ path: '/line/beltSpeedMmPerS', message: 'must be > 0' }],
    apply: (doc: unknown, actor: string) => {
      applied.push({ doc, actor });
      resolveApplied();
      return Promise.resolve({
        ok: true,
        applied: true,
        rolledBack: false,
        issues: [],
        message: 'configuration applied',
        backupPath: null,
      });
    },
  };
  return c;
}

async function server(c: ConfigControl, audits: unknown[] = []) {
  return buildHttpServer({
    log: silentLogger(),
    users: new UserDirectory([
      { name: 'tech', role: 'technician', password: 'tech-secret' },
      { name: 'admin', role: 'admin', password: 'admin-secret' },
    ]),
    board: new ParcelBoard(),
    health: () => ({ status: 'ok' }),
    runningConfig: () => ({}),
    configControl: c,
    audit: (e) => audits.push(e),
  });
}

describe('configuration routes', () => {
  it('validate lists every error; technicians may validate but only admins may apply', async () => {
    const c = control();
    const app = await server(c);
    const v = await app.inject({
      method: 'POST',
      url: '/api/config/validate',
      headers: basic('tech', 'tech-secret'),
      payload: { ok: false },
    });
    expect(v.statusCode).toBe(400);
    expect(v.json()).toMatchObject({ valid: false, issues: [{ path: '/line/beltSpeedMmPerS' }] });
    const put = await app.inject({
      method: 'PUT',
      url: '/api/config',
      headers: basic('tech', 'tech-secret'),
      payload: { ok: true },
    });
    expect(put.statusCode).toBe(403);
    expect(c.applied).toHaveLength(0);
    await app.close();
  });

  it('an invalid PUT is refused with the errors and audited; nothing is applied', async () => {
    const c = control();
    const audits: unknown[] = [];
    const app = await server(c, audits);
    const res = await app.inject({
      method: 'PUT',
      url: '/api/config',
      headers: basic('admin', 'admin-secret'),
      payload: { ok: false },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'EDGE_CONFIG_INVALID',
      issues: [{ path: '/line/beltSpeedMmPerS', message: 'must be > 0' }],
    });
    expect(c.applied).toHaveLength(0);
    expect(audits).toEqual([
      expect.objectContaining({ action: 'config.put', actor: 'admin', result: 'rejected' }),
    ]);
    await app.close();
  });

  it('a valid PUT is accepted and applied after the reply, as the admin who sent it', async () => {
    const c = control();
    const app = await server(c);
    const res = await app.inject({
      method: 'PUT',
      url: '/api/config',
      headers: basic('admin', 'admin-secret'),
      payload: { ok: true },
    });
    expect(res.statusCode).toBe(202);
    await (c as unknown as { done: Promise<void> }).done;
    expect(c.applied).toEqual([{ doc: { ok: true }, actor: 'admin' }]);
    await app.close();
  });

  it('the file view keeps secret references and hides literal secrets', async () => {
    const app = await server(control());
    const res = await app.inject({
      url: '/api/config/file',
      headers: basic('admin', 'admin-secret'),
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('literal-secret');
    await app.close();
  });
});
