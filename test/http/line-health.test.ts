import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';
import { waitFor } from '../support/wait.js';

/**
 * During an E-stop and with the CT link lost (fail-safe), /api/health and the console header
 * said `ok`. The line state and its reason must be what a technician sees first.
 */
describe('health and the line picture tell the line state and why', () => {
  let gateway: Gateway;
  let dir: string;
  const tech = { authorization: `Basic ${Buffer.from('tech:tech-password').toString('base64')}` };

  beforeAll(async () => {
    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    dir = mkdtempSync(join(tmpdir(), 'edge-linehealth-'));
    doc.dataDir = dir;
    doc.log = { level: 'silent', pretty: false };
    doc.http.port = 0;
    doc.http.users = [{ name: 'tech', role: 'technician', password: 'tech-password' }];
    doc.http.metrics = { user: 'prom', password: 'scrape-password' };
    doc.embeddedBroker.port = 0;
    const config = new ConfigValidator(driverKindSchemas()).parse(doc);
    gateway = new Gateway({ config, log: silentLogger(), clock: systemClock, version: 't' });
    await gateway.start();
    await waitFor(() => gateway.uplink?.health().state === 'connected', { what: 'uplink' });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const health = async () =>
    (await gateway.http!.inject({ url: '/api/health' })).json<{
      status: string;
      line: { state: string; reason: string | null };
    }>();

  it('a running line is ok', async () => {
    await waitFor(async () => (await health()).status === 'ok', { what: 'ok' });
    expect((await health()).line).toEqual({ state: 'running', reason: null });
  });

  it('E-stop: health is degraded with the reason, the line picture says E-stop', async () => {
    const at = systemClock.monoMs();
    gateway.runner!.handle({
      type: 'lineState',
      deviceId: 'estop',
      atMono: at,
      state: 'estop',
      reason: 'E-stop pressed',
    });
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.line).toEqual({ state: 'estop', reason: 'estop' });
    const line = (await gateway.http!.inject({ url: '/api/line', headers: tech })).json<{
      state: string;
      reason: string;
    }>();
    expect(line.state).toBe('estop');
    expect(line.reason).toMatch(/^E-stop/);
    gateway.runner!.handle({
      type: 'lineState',
      deviceId: 'estop',
      atMono: systemClock.monoMs(),
      state: 'running',
    });
    await waitFor(async () => (await health()).line.state === 'running', { what: 'running' });
  });

  it('CT link lost: fail-safe, not ok', async () => {
    gateway.runner!.handle({
      type: 'deviceStatus',
      deviceId: 'ct-1',
      atMono: systemClock.monoMs(),
      role: 'ct',
      ok: false,
      reason: 'life bit lost',
    });
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.line).toEqual({ state: 'running', reason: 'fail-safe' });
    const line = (await gateway.http!.inject({ url: '/api/line', headers: tech })).json<{
      reason: string;
    }>();
    expect(line.reason).toMatch(/fail-safe: .*life bit lost/);
  });

  it('Prometheus metrics: only the read-only credential scrapes them; line state, decisions, lateness', async () => {
    const prom = {
      authorization: `Basic ${Buffer.from('prom:scrape-password').toString('base64')}`,
    };
    await waitFor(
      async () => {
        const r = await gateway.http!.inject({ url: '/metrics', headers: prom });
        return r.body.includes('edge_parcel_decisions_total{');
      },
      { what: 'decisions counted', timeoutMs: 20_000 },
    );
    const res = await gateway.http!.inject({ url: '/metrics', headers: prom });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    for (const name of [
      '# TYPE edge_gate_lateness_ms histogram',
      'edge_outbox_pending',
      'edge_uplink_connected',
      'edge_driver_up',
      'edge_line_ok',
    ])
      expect(res.body).toContain(name);
    // a console user's password does not open the metrics, and the metrics password opens nothing else
    expect((await gateway.http!.inject({ url: '/metrics', headers: tech })).statusCode).toBe(401);
    expect((await gateway.http!.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await gateway.http!.inject({ url: '/api/parcels', headers: prom })).statusCode).toBe(
      401,
    );
  });
});
