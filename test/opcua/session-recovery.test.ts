import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineInput } from '../../edge/engine/types.js';
import type { OpcuaDriver } from '../../drivers/opcua/opcua-driver.js';
import { SIM_NS } from '../../drivers/opcua/signal-mapping.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';
import { makeDriver, node, opcuaConfig, simServer } from './helpers.js';
import { startSim, type OpcuaSim } from './sim-process.js';

/**
 * Recovery without a restart of the gateway: network loss (a TCP relay between driver and
 * simulator is cut and restored), a network loss long enough for the server to expire the
 * session, and a server that ends the session and deletes its subscriptions.
 */

const T = { timeoutMs: 30_000 };
const SESSION_TIMEOUT_MS = 3000;
let sim: OpcuaSim;
let proxy: TcpProxy;
let dataDir: string;
let driver: OpcuaDriver;
let signals: EngineInput[];

const server = () => driver.serverHealth()[0]!;
const ctLost = (from: number) =>
  signals.slice(from).find((s) => s.type === 'deviceStatus' && s.deviceId === 'ct-1' && !s.ok);
const ctBack = (from: number) =>
  signals.slice(from).find((s) => s.type === 'deviceStatus' && s.deviceId === 'ct-1' && s.ok);

/** Verdicts reach the engine again (retried: the subscription may still be on its way back). */
async function verdictsFlow(trackingId: string): Promise<void> {
  await waitFor(
    async () => {
      await sim.command({ cmd: 'verdict', trackingId, verdict: 'ALARM' });
      return waitFor(() => signals.find((s) => s.type === 'ctVerdict' && s.scanId === trackingId), {
        timeoutMs: 3000,
      }).catch(() => null);
    },
    { timeoutMs: 60_000, what: `verdict ${trackingId}` },
  );
}

beforeAll(async () => {
  sim = await startSim(['--life-bit-ms', '250']);
  proxy = await TcpProxy.start(sim.port);
  dataDir = mkdtempSync(join(tmpdir(), 'opcua-session-'));
  ({ driver, signals } = makeDriver(
    opcuaConfig({
      id: 'opcua-session',
      kind: 'opcua',
      servers: [
        simServer(`opc.tcp://127.0.0.1:${proxy.port}`, {
          sessionTimeoutMs: SESSION_TIMEOUT_MS,
          backoff: { initialMs: 200, maxMs: 1000 },
          signals: [
            {
              name: 'ct1.verdict',
              kind: 'ctVerdict',
              nodeId: node('CT1'),
              fieldNamespace: SIM_NS,
            },
            {
              name: 'ct1.lifeBit',
              kind: 'lifeBit',
              nodeId: node('CT1.LifeBit'),
              lifeBitTimeoutMs: 1500,
            },
          ] as never,
          outputs: [],
        }),
      ],
    }),
    dataDir,
  ));
  await driver.start();
  await waitFor(() => server().state === 'connected', { ...T, what: 'connected' });
  await verdictsFlow('FIRST');
}, 90_000);

afterAll(async () => {
  await driver?.stop();
  await proxy?.dispose();
  await sim?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('OPC UA session recovery', () => {
  it('network loss: device lost at once, back with the same session when the network returns', async () => {
    const sessionId = server().sessionId;
    const reconnects = server().reconnects;
    const from = signals.length;
    await proxy.cut();
    try {
      await waitFor(() => server().state === 'reconnecting', { ...T, what: 'reconnecting' });
      await waitFor(() => ctLost(from), { ...T, what: 'device lost' });
    } finally {
      await proxy.restore();
    }
    await waitFor(() => server().state === 'connected' && server().reconnects > reconnects, {
      timeoutMs: 60_000,
      what: 'reconnected',
    });
    await verdictsFlow('AFTER-BLIP');
    await waitFor(() => ctBack(from), { ...T, what: 'device back' });
    // shorter than the session timeout: the server kept the session, the driver re-activated it
    expect(server().sessionId).toBe(sessionId);
  }, 120_000);

  it('network loss longer than the session timeout: a new session, values flow again', async () => {
    const sessionId = server().sessionId;
    const reconnects = server().reconnects;
    const from = signals.length;
    const expired = sim.next((m) => m.event === 'sessionClosed', 4 * SESSION_TIMEOUT_MS + 10_000);
    await proxy.cut();
    try {
      await waitFor(() => ctLost(from), { ...T, what: 'device lost' });
      // the server, not the test, decides when the session is gone
      const closed = await expired;
      expect(closed.deleteSubscriptions).toBe(false);
    } finally {
      await proxy.restore();
    }
    await waitFor(() => server().state === 'connected' && server().reconnects > reconnects, {
      timeoutMs: 60_000,
      what: 'reconnected',
    });
    await verdictsFlow('AFTER-EXPIRY');
    await waitFor(() => ctBack(from), { ...T, what: 'device back' });
    expect(server().sessionId).not.toBe(sessionId);
    expect(server().state).toBe('connected');
  }, 120_000);

  it('the server ends the session and deletes its subscriptions: both are re-created', async () => {
    const sessionId = server().sessionId;
    const subscriptionId = server().subscriptionId;
    const from = signals.length;
    const dropped = await sim.command({ cmd: 'dropSessions', deleteSubscriptions: true });
    expect(dropped.closed).toHaveLength(1);
    await verdictsFlow('AFTER-TERMINATE');
    expect(server().state).toBe('connected');
    expect(server().sessionId).not.toBe(sessionId);
    expect(server().subscriptionId).not.toBe(subscriptionId);
    // the life bit is watched again too: no device stays lost
    const last = signals
      .slice(from)
      .filter((s) => s.type === 'deviceStatus' && s.deviceId === 'ct-1')
      .at(-1);
    expect(last === undefined || (last.type === 'deviceStatus' && last.ok)).toBe(true);
  }, 120_000);
});
