import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { BaseDriver, type DriverContext, type DriverHealth } from '../../drivers/driver.js';
import { DRIVER_KINDS, driverKindSchemas, type DriverKind } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { ManualClock } from '../support/clocks.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';
import { waitFor } from '../support/wait.js';

class ProbeDriver extends BaseDriver {
  starts = 0;
  stops = 0;
  fired = 0;
  constructor(
    ctx: DriverContext,
    private readonly failStart = false,
  ) {
    super('probe', 'probe', ctx);
  }
  protected async onStart(): Promise<void> {
    this.starts++;
    await Promise.resolve();
    if (this.failStart) throw new Error('device not found');
    this.setRepeating(() => this.fired++, 5);
    this.setTimer(() => this.fired++, 60_000);
  }
  protected async onStop(): Promise<void> {
    this.stops++;
    await Promise.resolve();
  }
  timerCount(): number {
    return (this as unknown as { timers: Set<unknown> }).timers.size;
  }
}

const ctx = (): DriverContext => ({ log: silentLogger(), clock: new ManualClock() });

describe('the Driver contract', () => {
  it('start() is idempotent and stop() returns one shared promise that clears every timer', async () => {
    const d = new ProbeDriver(ctx());
    const states: DriverHealth['state'][] = [];
    d.on('health', (h) => states.push(h.state));
    const a = d.start();
    const b = d.start();
    expect(a).toBe(b);
    await a;
    await d.start();
    expect(d.starts).toBe(1);
    expect(d.health().state).toBe('running');
    expect(d.timerCount()).toBe(2);
    const s1 = d.stop();
    const s2 = d.stop();
    expect(s1).toBe(s2);
    await s1;
    expect(d.stops).toBe(1);
    expect(d.timerCount()).toBe(0);
    const firedAtStop = d.fired;
    await new Promise((r) => setTimeout(r, 30)); // would have ticked ~6 times if a timer survived
    expect(d.fired).toBe(firedAtStop);
    expect(states).toEqual(['starting', 'running', 'stopping', 'stopped']);
    await expect(d.start()).rejects.toMatchObject({ code: 'EDGE_DRIVER_START_FAILED' });
  });

  it('a driver whose start fails reports failed with the error, and its stop still resolves', async () => {
    const d = new ProbeDriver(ctx(), true);
    await expect(d.start()).rejects.toThrow('device not found');
    expect(d.health()).toMatchObject({
      state: 'failed',
      lastError: { message: 'device not found' },
    });
    await d.stop();
    expect(d.health().state).toBe('stopped');
  });

  it('in the gateway, a failing driver is reported in health and the others keep running', async () => {
    const broken: DriverKind = {
      kind: 'broken',
      schema: Type.Object({
        id: Type.String(),
        kind: Type.Literal('broken'),
        enabled: Type.Optional(Type.Boolean()),
      }),
      create: (_c, c) => Promise.resolve(new ProbeDriver(c, true)),
    };
    const kinds = [...DRIVER_KINDS, broken];
    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'edge-contract-'));
    doc.dataDir = dir;
    doc.http.port = 0;
    doc.embeddedBroker.port = 0;
    doc.drivers.push({ id: 'probe', kind: 'broken' });
    doc.drivers[0].parcelsPerMinute = 600;
    const config = new ConfigValidator(driverKindSchemas(kinds)).parse(doc);
    const gateway = new Gateway({
      config,
      log: silentLogger(),
      clock: systemClock,
      version: 't',
      driverKinds: kinds,
    });
    try {
      await gateway.start();
      const health = gateway.health() as { status: string; drivers: DriverHealth[] };
      expect(health.status).toBe('degraded');
      expect(health.drivers.find((d) => d.id === 'probe')).toMatchObject({
        state: 'failed',
        lastError: { message: 'device not found' },
      });
      expect(health.drivers.find((d) => d.id === 'sim-line')?.state).toBe('running');
      // the rest of the line still works: parcels are inducted and recorded
      await waitFor(() => (gateway.outbox?.stats().lastSeq ?? 0) > 5, {
        what: 'events from the simulated line',
      });
    } finally {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
