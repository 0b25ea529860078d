import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Driver } from '../../drivers/driver.js';
import { DRIVER_KINDS, driverKindSchemas } from '../../drivers/kinds.js';
import type { SerialDriver } from '../../drivers/serial/serial-driver.js';
import { systemClock } from '../../edge/clock.js';
import { waitFor } from '../support/wait.js';
import { silentLog } from './socat.js';

const Ajv = AjvModule.default;

/**
 * The serial driver kinds as the gateway builds them: schemas from drivers/kinds.ts, the example
 * configuration, and a `serial-sim` simulator that starts its own socat pair feeding a
 * `serial-barcode` driver (what `npm start` does with config/examples/serial-line.yaml).
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function validator(kind: string) {
  const schema = driverKindSchemas().get(kind);
  if (!schema) throw new Error(`no kind ${kind}`);
  return new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(schema);
}

async function create(config: Record<string, unknown>): Promise<Driver> {
  const validate = validator(String(config.kind));
  if (!validate(config)) throw new Error(JSON.stringify(validate.errors));
  const kind = DRIVER_KINDS.find((k) => k.kind === config.kind);
  const line = {} as never;
  const driver = await kind!.create(config, { log: silentLog, clock: systemClock, line });
  cleanups.push(() => driver.stop());
  return driver;
}

describe('serial driver kinds', () => {
  it('the example configuration validates for every serial driver', () => {
    const doc = parse(readFileSync('config/examples/serial-line.yaml', 'utf8')) as {
      drivers: Record<string, unknown>[];
    };
    const serial = doc.drivers.filter((d) => String(d.kind).startsWith('serial-'));
    expect(serial.length).toBe(6);
    for (const d of serial) {
      const validate = validator(String(d.kind));
      expect(validate(d) ? [] : validate.errors).toEqual([]);
    }
  });

  it('bad settings are clear errors: unknown property, bad framing, pattern without its group', async () => {
    const validate = validator('serial-barcode');
    expect(
      validate({ id: 'x', kind: 'serial-barcode', port: { path: '/dev/x', baud: 9600 } }),
    ).toBe(false);
    expect(validate.errors?.map((e) => e.params)).toContainEqual({ additionalProperty: 'baud' });
    await expect(
      create({ id: 'x', kind: 'serial-barcode', port: { path: '/dev/x' }, pattern: '^(.+)$' }),
    ).rejects.toMatchObject({ code: 'EDGE_SERIAL_CONFIG' });
    await expect(
      create({
        id: 'y',
        kind: 'serial-ct-alarm',
        port: { path: '/dev/x' },
        framing: { type: 'fixed' },
      }),
    ).rejects.toMatchObject({
      code: 'EDGE_SERIAL_CONFIG',
      message: expect.stringContaining('needs length') as string,
    });
  });

  it('serial-sim with its own pty feeds a serial-barcode driver; stop removes the pty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'serial-sim-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const simPath = join(dir, 'sub', 'scanner.sim');
    const devPath = join(dir, 'sub', 'scanner.dev');
    const sim = await create({
      id: 'scanner-sim',
      kind: 'serial-sim',
      device: 'barcode',
      path: simPath,
      pty: { peer: devPath },
      perMinute: 1200,
      noReadRate: 0.2,
      invalidRate: 0.2,
      seed: 3,
    });
    await sim.start();
    expect(existsSync(devPath)).toBe(true);
    const driver = (await create({
      id: 'scanner-1',
      kind: 'serial-barcode',
      port: { path: devPath },
      reconnect: { initialMs: 50, maxMs: 200, pathPollMs: 50 },
    })) as SerialDriver;
    const reads: { code: string | null; valid: boolean }[] = [];
    driver.on('signal', (s) => {
      if (s.type === 'barcode') reads.push({ code: s.code, valid: s.valid });
    });
    await driver.start();
    await waitFor(() => reads.length >= 20, { what: '20 reads', timeoutMs: 20_000 });
    expect(reads.some((r) => r.valid)).toBe(true);
    expect(reads.some((r) => r.code === null)).toBe(true);
    expect(reads.some((r) => r.code !== null && !r.valid)).toBe(true);
    for (const r of reads) if (r.valid) expect(r.code).toMatch(/^RD\d{9}CN$/);
    expect(driver.health().counters.rejected).toBe(0);
    await sim.stop();
    expect(existsSync(simPath) || existsSync(devPath)).toBe(false);
    await waitFor(() => driver.health().details.link === 'waiting-for-path', { what: 'unplugged' });
  });
});
