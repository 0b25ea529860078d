import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CtVerdictInput, EngineInput } from '../../edge/engine/types.js';
import type { OpcuaDriver } from '../../drivers/opcua/opcua-driver.js';
import { SIM_NS } from '../../drivers/opcua/signal-mapping.js';
import { waitFor } from '../support/wait.js';
import { makeDriver, node, opcuaConfig } from './helpers.js';
import { startSim, type OpcuaSim } from './sim-process.js';

/**
 * A signal's eventType against a real node-opcua server: given by browse name it is found in
 * the event type hierarchy; a node that is not an event type, or a name the server does not
 * have, fails that signal with what is wrong (it used to subscribe and stay silent).
 */

const T = { timeoutMs: 30_000 };
let sim: OpcuaSim;
let dataDir: string;
let driver: OpcuaDriver;
let signals: EngineInput[];

const ct = (name: string, eventType: string) => ({
  name,
  kind: 'ctVerdict',
  nodeId: node('CT1'),
  fieldNamespace: SIM_NS,
  eventType,
});

beforeAll(async () => {
  sim = await startSim([]);
  dataDir = mkdtempSync(join(tmpdir(), 'opcua-event-type-'));
  ({ driver, signals } = makeDriver(
    opcuaConfig({
      id: 'opcua-et',
      kind: 'opcua',
      servers: [
        {
          id: 'sim',
          endpointUrl: sim.endpoint,
          securityMode: 'None',
          deviceId: 'ct-1',
          role: 'ct',
          signals: [
            ct('by.name', 'CtScanCompleteEventType'),
            ct('by.variable', node('CT1.LifeBit')),
            ct('by.object', node('CT1')),
            ct('by.unknown.name', 'NoSuchScanEventType'),
            ct('by.base', 'i=2041'),
          ],
        },
      ],
    }),
    dataDir,
  ));
  await driver.start();
  await waitFor(
    () => driver.serverHealth()[0]?.signals.every((s) => s.state !== 'pending') || null,
    { ...T, what: 'every signal monitoring or failed' },
  );
}, 90_000);

afterAll(async () => {
  await driver?.stop();
  await sim?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('OPC UA event types', () => {
  const signal = (name: string) => driver.serverHealth()[0]!.signals.find((s) => s.name === name)!;

  it('an event type given by browse name is found and its events arrive', async () => {
    expect(signal('by.name').state).toBe('monitoring');
    expect(signal('by.base').state).toBe('monitoring');
    await sim.command({ cmd: 'verdict', trackingId: 'ET-1', verdict: 'NO_ALARM' });
    // one event, two signals on it (by name and BaseEventType): two verdicts
    const got = await waitFor(
      () => {
        const v = signals.filter(
          (s): s is CtVerdictInput => s.type === 'ctVerdict' && s.scanId === 'ET-1',
        );
        return v.length >= 2 ? v : null;
      },
      { ...T, what: 'two verdicts' },
    );
    expect(got.every((v) => v.verdict === 'clear')).toBe(true);
  });

  it('a node that is not an event type fails its signal with what the node is', () => {
    expect(signal('by.variable').state).toBe('error');
    expect(signal('by.variable').error).toMatch(/is a Variable, not an event type/);
    expect(signal('by.object').state).toBe('error');
    expect(signal('by.object').error).toMatch(/is a Object, not an event type/);
  });

  it('a browse name the server does not have fails its signal and says how to find one', () => {
    expect(signal('by.unknown.name').state).toBe('error');
    expect(signal('by.unknown.name').error).toMatch(/no event type named 'NoSuchScanEventType'/);
  });
});
