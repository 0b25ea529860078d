import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { DRIVER_KINDS, driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { GatewayHost } from '../../edge/gateway/host.js';
import { silentLogger } from '../../edge/log.js';

/**
 * GET /api/config/file then PUT /api/config with that body (the obvious round trip) must change
 * nothing: before, it saved the literal `[redacted]` as every password (everyone locked out)
 * and dropped the file's comments.
 */
const EXAMPLE = new URL('../../config/examples/simulated-line.yaml', import.meta.url);

describe('configuration round trip over HTTP', () => {
  let dir: string;
  let file: string;
  let host: GatewayHost;
  let text: string;
  const env = { EDGE_ADMIN_PASSWORD: 'admin-password-1', LITERAL: 'x' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-roundtrip-'));
    file = join(dir, 'gateway.yaml');
    text = readFileSync(EXAMPLE, 'utf8')
      .replace('dataDir: ./data', `dataDir: ${join(dir, 'data')}`)
      .replace('level: info', 'level: silent')
      .replace('port: 8080', 'port: 0')
      .replace('port: 1883', 'port: 0')
      // a literal secret in the file (allowed in a local file), beside the references
      .replace(
        '      password: ${env:EDGE_UI_PASSWORD:-customs-demo}',
        '      password: literal-viewer-password',
      );
    writeFileSync(file, text);
    host = new GatewayHost({
      file,
      driverKinds: DRIVER_KINDS,
      log: silentLogger(),
      clock: systemClock,
      version: 't',
      secrets: { env, readFile: () => '' },
    });
    await host.start();
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const http = () => host.gateway!.http!;
  const admin = {
    authorization: `Basic ${Buffer.from('admin:admin-password-1').toString('base64')}`,
  };

  async function waitApplied(after: string | undefined) {
    for (let i = 0; i < 200; i++) {
      const r = host.lastResult;
      if (r?.at && r.at !== after) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('no apply result');
  }

  it('the file view shows no secret but keeps references', async () => {
    const json = await http().inject({ url: '/api/config/file', headers: admin });
    expect(json.statusCode).toBe(200);
    expect(json.body).not.toContain('literal-viewer-password');
    // a reference with a default holds a secret (the default): hidden too
    expect(json.body).not.toContain('admin-demo');
    const users = json.json<{ http: { users: { name: string; password: string }[] } }>().http.users;
    expect(users.find((u) => u.name === 'operator')?.password).toBe('[redacted]');
    const yaml = await http().inject({ url: '/api/config/file?format=yaml', headers: admin });
    expect(yaml.headers['content-type']).toMatch(/yaml/);
    expect(yaml.body).toContain('# Demo credentials');
    expect(yaml.body).not.toContain('literal-viewer-password');
  });

  it('GET the file as JSON, PUT it back: the file is byte for byte the same and logins work', async () => {
    const got = await http().inject({ url: '/api/config/file', headers: admin });
    const before = host.lastResult?.at;
    const put = await http().inject({
      method: 'PUT',
      url: '/api/config',
      headers: admin,
      payload: got.json(),
    });
    expect(put.statusCode, put.body).toBe(202);
    const result = await waitApplied(before);
    expect(result).toMatchObject({ ok: true, applied: true });
    expect(readFileSync(file, 'utf8')).toBe(text);
    // nobody locked out: the passwords are what they were
    const viewer = `Basic ${Buffer.from('operator:literal-viewer-password').toString('base64')}`;
    expect(
      (await http().inject({ url: '/api/parcels', headers: { authorization: viewer } })).statusCode,
    ).toBe(200);
    expect((await http().inject({ url: '/api/parcels', headers: admin })).statusCode).toBe(200);
  });

  it('GET the file as YAML, change one value, PUT it back: comments and secrets stay', async () => {
    const got = await http().inject({ url: '/api/config/file?format=yaml', headers: admin });
    const edited = got.body.replace('parcelsPerMinute: 90', 'parcelsPerMinute: 80');
    const before = host.lastResult?.at;
    const put = await http().inject({
      method: 'PUT',
      url: '/api/config',
      headers: { ...admin, 'content-type': 'application/yaml' },
      payload: edited,
    });
    expect(put.statusCode, put.body).toBe(202);
    expect(await waitApplied(before)).toMatchObject({ ok: true });
    const now = readFileSync(file, 'utf8');
    expect(now).toBe(text.replace('parcelsPerMinute: 90', 'parcelsPerMinute: 80'));
    expect(parse(now).http.users[0].password).toBe('literal-viewer-password');
  });

  it('[redacted] is never accepted as a value where the file has no secret', async () => {
    const got = await http().inject({ url: '/api/config/file', headers: admin });
    const doc = got.json<{ http: { users: Record<string, string>[] } }>();
    doc.http.users.push({ name: 'newcomer', role: 'admin', password: '[redacted]' });
    const res = await http().inject({
      method: 'POST',
      url: '/api/config/validate',
      headers: admin,
      payload: doc,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      valid: false,
      issues: [expect.objectContaining({ path: '/http/users/4/password' })],
    });
  });

  it('validate takes YAML and lists schema errors and cross-checks at once, with lines', async () => {
    const got = await http().inject({ url: '/api/config/file?format=yaml', headers: admin });
    const broken = got.body
      .replace('beltSpeedMmPerS: 1000', 'beltSpeedMmPerS: -5')
      .replace(
        'pass: { gate: gate-pass, positionMm: 8000 }',
        'pass: { gate: gate-nowhere, positionMm: 8000 }',
      );
    const res = await http().inject({
      method: 'POST',
      url: '/api/config/validate',
      headers: { ...admin, 'content-type': 'text/yaml' },
      payload: broken,
    });
    expect(res.statusCode).toBe(400);
    const issues = res.json<{ issues: { path: string; line?: number }[] }>().issues;
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('/line/beltSpeedMmPerS');
    expect(paths.some((p) => p.startsWith('/line/lanes/pass'))).toBe(true);
    const speed = issues.find((i) => i.path === '/line/beltSpeedMmPerS');
    expect(broken.split('\n')[(speed?.line ?? 0) - 1]).toContain('beltSpeedMmPerS');
  });

  it('the demo configuration has an admin user', () => {
    const doc = parse(readFileSync(EXAMPLE, 'utf8'));
    const config = new ConfigValidator(driverKindSchemas()).parse(doc);
    expect(config.http.users.some((u) => u.role === 'admin')).toBe(true);
  });
});
