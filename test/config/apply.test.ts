import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { GatewayHost } from '../../edge/gateway/host.js';
import { silentLogger } from '../../edge/log.js';
import { waitFor } from '../support/wait.js';

/** Run-time configuration changes: validate, apply with a backup, roll back a failed start. */
describe('applying a configuration at run time', () => {
  let dir: string;
  let file: string;
  let host: GatewayHost;
  let base: Record<string, any>;
  let blocker: Server;
  let blockedPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-apply-'));
    file = join(dir, 'gateway.yaml');
    base = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    base.dataDir = join(dir, 'data');
    base.log = { level: 'silent', pretty: false };
    base.http.port = 0;
    base.embeddedBroker.port = 0;
    writeFileSync(file, stringify(base));
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    blockedPort = (blocker.address() as { port: number }).port;
    host = new GatewayHost({
      file,
      driverKinds: DRIVER_KINDS,
      log: silentLogger(),
      clock: systemClock,
      version: 't',
      secrets: { env: {}, readFile: () => '' },
    });
    await host.start();
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
    blocker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects an invalid configuration with every error and keeps the running one', async () => {
    const running = host.gateway;
    const before = readFileSync(file, 'utf8');
    const bad = structuredClone(base);
    bad.line.beltSpeedMmPerS = 0;
    bad.http.port = 'eighty';
    const result = await host.apply(bad, 'tester');
    expect(result).toMatchObject({ ok: false, applied: false, rolledBack: false });
    expect(result.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['/line/beltSpeedMmPerS', '/http/port']),
    );
    expect(host.gateway).toBe(running);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('applies a valid one after a backup and audits it', async () => {
    const running = host.gateway;
    const next = structuredClone(base);
    next.drivers[0].parcelsPerMinute = 120;
    const result = await host.apply(next, 'tester');
    expect(result).toMatchObject({ ok: true, applied: true });
    expect(host.gateway).not.toBe(running);
    expect(host.config?.drivers[0]).toMatchObject({ parcelsPerMinute: 120 });
    expect(parse(readFileSync(file, 'utf8')).drivers[0].parcelsPerMinute).toBe(120);
    expect(readFileSync(result.backupPath!, 'utf8')).toMatch(/parcelsPerMinute: 90/);
    await waitFor(
      () => host.gateway?.outbox?.recent(['audit'], 5).find((e) => e.payload.result === 'applied'),
      { what: 'audit event' },
    );
  });

  it('rolls back when the new configuration cannot start', async () => {
    const before = readFileSync(file, 'utf8');
    const next = structuredClone(base);
    next.drivers[0].parcelsPerMinute = 120;
    next.http.port = blockedPort; // valid, but the port is taken
    const result = await host.apply(next, 'tester');
    expect(result).toMatchObject({ ok: false, applied: false, rolledBack: true });
    expect(result.message).toMatch(/previous configuration restored/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(host.gateway?.health()).toMatchObject({ status: expect.stringMatching(/ok|degraded/) });
    expect(host.gateway?.httpAddress).not.toContain(`:${blockedPort}`);
    expect(readdirSync(dir).filter((f) => f.endsWith('.bak')).length).toBe(2);
    await waitFor(
      () =>
        host.gateway?.outbox?.recent(['audit'], 5).find((e) => e.payload.result === 'rolled-back'),
      { what: 'rollback audit event' },
    );
  });
});
