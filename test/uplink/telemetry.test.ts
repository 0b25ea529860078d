import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clocks.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { LineKpis } from '../../edge/telemetry/line-kpis.js';
import { SystemProbe } from '../../edge/telemetry/system-probe.js';
import { tempDir } from './helpers.js';

const dir = tempDir('telemetry-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ev(type: string, payload: Record<string, unknown> = {}): EdgeEvent {
  return {
    schema: 1,
    id: 'x',
    seq: 1,
    gatewayId: 'g',
    type,
    parcelId: 'p',
    monoMs: 0,
    time: '',
    payload,
  };
}

describe('telemetry', () => {
  it('computes line KPIs over a sliding window', () => {
    const clock = new ManualClock(0);
    const kpis = new LineKpis(clock.monoMs, 60);
    clock.advance(30_000);
    kpis.observe([
      ...Array.from({ length: 10 }, () => ev('parcel.inducted')),
      ev('parcel.noread'),
      ...Array.from({ length: 8 }, () => ev('parcel.decided', { lane: 'pass' })),
      ev('parcel.decided', { lane: 'inspection' }),
      ev('parcel.decided', { lane: 'inspection' }),
      ...Array.from({ length: 4 }, () => ev('gate.fired')),
      ...Array.from({ length: 3 }, () => ev('divert.confirmed')),
    ]);
    expect(kpis.snapshot()).toEqual({
      windowS: 30,
      parcelsPerMin: 20,
      noReadRate: 0.1,
      inspectionRate: 0.2,
      divertConfirmationRate: 0.75,
    });
    clock.advance(90_000); // everything left the window
    expect(kpis.snapshot()).toMatchObject({
      parcelsPerMin: 0,
      noReadRate: null,
      inspectionRate: null,
    });
  });

  it('reads host figures best effort: SoC temperature from the cpu thermal zone, null when absent', () => {
    const thermal = join(dir, 'thermal');
    for (const [zone, type, milli] of [
      ['thermal_zone0', 'acpitz', '30000'],
      ['thermal_zone1', 'cpu-thermal', '51234'],
    ] as const) {
      mkdirSync(join(thermal, zone), { recursive: true });
      writeFileSync(join(thermal, zone, 'type'), `${type}\n`);
      writeFileSync(join(thermal, zone, 'temp'), `${milli}\n`);
    }
    const probe = new SystemProbe({ dataDir: dir, thermalRoot: thermal });
    const first = probe.sample();
    expect(first.socTempC).toBe(51.2);
    expect(first.cpuPercent).toBeNull();
    expect(first.diskTotalBytes).toBeGreaterThan(0);
    expect(first.memAvailableBytes).toBeGreaterThan(0);
    const none = new SystemProbe({ dataDir: join(dir, 'missing'), thermalRoot: join(dir, 'nope') });
    const s = none.sample();
    expect(s.socTempC).toBeNull();
    expect(s.diskTotalBytes).toBeNull();
  });
});
