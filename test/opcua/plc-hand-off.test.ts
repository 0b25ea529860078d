import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpcuaDriver } from '../../drivers/opcua/opcua-driver.js';
import { systemClock } from '../../edge/clock.js';
import type { PlcDivertCommand } from '../../edge/engine/types.js';
import type { EventDraft } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import { decisionOutputs, PlcHandOff } from '../../edge/gateway/plc-hand-off.js';
import { waitFor } from '../support/wait.js';
import { makeDriver, opcuaConfig, simServer } from './helpers.js';
import { startSim, type OpcuaSim } from './sim-process.js';

/** The engine's PLC-mode decisions reach a real OPC UA PLC (the simulator process). */
describe('PLC hand-off over OPC UA', () => {
  let sim: OpcuaSim;
  let dir: string;
  let driver: OpcuaDriver;
  let handOff: PlcHandOff;
  const events: EventDraft[] = [];

  const command = (over: Partial<PlcDivertCommand>): PlcDivertCommand => ({
    kind: 'plcDivert',
    action: 'divert',
    plcId: 'sim',
    gateId: 'pass-diverter',
    parcelId: 'P-1',
    code: 'RD223479072CN',
    lane: 'pass',
    outlet: 'pass',
    destination: 2,
    issuedAtMono: systemClock.monoMs(),
    atDiverterMono: systemClock.monoMs() + 5000,
    ...over,
  });

  beforeAll(async () => {
    sim = await startSim();
    dir = mkdtempSync(join(tmpdir(), 'plc-handoff-'));
    const entry = { id: 'opcua-1', kind: 'opcua', servers: [simServer(sim.endpoint)] };
    ({ driver } = makeDriver(opcuaConfig(entry), dir));
    await driver.start();
    await waitFor(() => driver.serverHealth()[0]?.state === 'connected', {
      timeoutMs: 30_000,
      what: 'connected',
    });
    const outputs = decisionOutputs([entry]);
    handOff = new PlcHandOff({
      drivers: () => [driver],
      decisionOutput: (id) => outputs.get(id) ?? null,
      record: (e) => events.push(...e),
      clock: systemClock,
      log: silentLogger(),
    });
  }, 90_000);

  afterAll(async () => {
    await driver?.stop();
    await sim?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a divert reaches the PLC with the waybill as tracking id; a revoke sends the parcel straight on', async () => {
    const divert = sim.next((m) => m.event === 'decision' && m.trackingId === 'RD223479072CN');
    handOff.send(command({}));
    expect(await divert).toMatchObject({ lane: 'pass' });
    await waitFor(() => events.find((e) => e.type === 'plc.handoff'), { what: 'hand-off event' });
    expect(events.find((e) => e.type === 'plc.handoff')?.payload).toMatchObject({
      plcId: 'sim',
      lane: 'pass',
      slackMs: expect.any(Number),
    });

    const revoke = sim.next(
      (m) => m.event === 'decision' && m.trackingId === 'RD223479072CN' && m.lane === 'inspection',
    );
    handOff.send(command({ action: 'revoke' }));
    await revoke;
  });

  it('a PLC that is not configured is a recorded failure, not an exception', () => {
    handOff.send(command({ plcId: 'nowhere', parcelId: 'P-2' }));
    expect(
      events.find((e) => e.type === 'plc.handoff_failed' && e.parcelId === 'P-2')?.payload.error,
    ).toMatch(/no OPC UA server 'nowhere'/);
  });
});
