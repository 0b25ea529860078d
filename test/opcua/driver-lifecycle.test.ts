import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import { freePort } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { makeDriver, opcuaConfig, simServer } from './helpers.js';

/** The Driver contract with nothing listening: idempotent start, one shared stop, health. */

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'opcua-life-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('OPC UA driver lifecycle', () => {
  it('start is idempotent, stop is one shared promise, an unreachable server is degraded', async () => {
    const url = `opc.tcp://127.0.0.1:${await freePort()}`;
    const dataDir = tmp();
    const { driver, signals } = makeDriver(
      opcuaConfig({ id: 'opcua-x', kind: 'opcua', servers: [simServer(url)] }),
      dataDir,
    );
    const a = driver.start();
    expect(driver.start()).toBe(a);
    await a;
    // the application instance certificate is created on first start
    expect(existsSync(join(dataDir, 'pki/opcua/own/certs'))).toBe(true);
    await waitFor(() => driver.serverHealth()[0]!.connectAttempts >= 2, { timeoutMs: 20_000 });
    expect(driver.health().state).toBe('degraded');
    expect(driver.serverHealth()[0]!.lastError?.code).toBe('EDGE_OPCUA_CONNECT');
    // unreachable after a failure: the CT is declared lost (fail-safe)
    await waitFor(() => signals.find((s) => s.type === 'deviceStatus' && !s.ok), {
      timeoutMs: 20_000,
    });
    await expect(driver.browse('sim')).rejects.toMatchObject({ code: 'EDGE_OPCUA_NOT_CONNECTED' });
    await expect(driver.browse('nope')).rejects.toMatchObject({ code: 'EDGE_OPCUA_UNKNOWN_NAME' });
    const s1 = driver.stop();
    expect(driver.stop()).toBe(s1);
    await s1;
    expect(driver.health().state).toBe('stopped');
    expect(driver.serverHealth()[0]!.state).toBe('stopped');
  });

  it('a host that accepts the connection and never answers is given up after connectTimeoutMs', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as AddressInfo).port;
    const { driver } = makeDriver(
      opcuaConfig({
        id: 'opcua-silent',
        kind: 'opcua',
        servers: [simServer(`opc.tcp://127.0.0.1:${port}`, { connectTimeoutMs: 1000 })],
      }),
      tmp(),
    );
    try {
      await driver.start();
      // node-opcua alone would wait 60 s for the first answer
      const err = await waitFor(() => driver.serverHealth()[0]!.lastError, { timeoutMs: 20_000 });
      expect(err).toMatchObject({ code: 'EDGE_OPCUA_CONNECT' });
      expect(err.message).toMatch(/no answer from .* within 1000 ms/);
      await waitFor(() => driver.serverHealth()[0]!.connectAttempts >= 2, { timeoutMs: 20_000 });
    } finally {
      await driver.stop();
      silent.close();
    }
  });

  it('is created through the driver kind registry with a dynamic import', async () => {
    const kind = DRIVER_KINDS.find((k) => k.kind === 'opcua')!;
    const config = opcuaConfig({
      id: 'opcua-k',
      kind: 'opcua',
      servers: [simServer(`opc.tcp://127.0.0.1:${await freePort()}`)],
    });
    const driver = await kind.create(config, {
      log: silentLogger(),
      clock: systemClock,
      line: {} as never,
      dataDir: tmp(),
    });
    expect(driver.kind).toBe('opcua');
    await driver.stop(); // never started: nothing to undo
    expect(driver.health().state).toBe('stopped');
  });
});
