import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpcuaDriver } from '../../drivers/opcua/opcua-driver.js';
import { systemClock } from '../../edge/clock.js';
import type { PlcDivertCommand } from '../../edge/engine/types.js';
import type { EventDraft } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import { decisionOutputs, SorterHandOff as PlcHandOff } from '../../edge/sorter/sorter-hand-off.js';
import { waitFor } from '../support/wait.js';
import { makeDriver, node, opcuaConfig } from './helpers.js';
import { startSim, type OpcuaSim } from './sim-process.js';

/**
 * The engine's PLC decisions reach a real OPC UA sorter PLC (the simulator process: integer
 * destinations, its own tracking ids, default destination pass) the way sorter vendors take them:
 * keyed as the PLC knows the parcel, destination codes in its data type, by method (arguments by
 * position or by name) or by registers + strobe + handshake, each acknowledged; no ack is retried
 * while there is time, then alarmed.
 */
describe('sorter PLC hand-off over OPC UA', () => {
  let sim: OpcuaSim;
  let dir: string;
  let driver: OpcuaDriver;
  const events: EventDraft[] = [];
  const handOffs = new Map<string, PlcHandOff>();

  const sorterServer = (endpointUrl: string) => ({
    id: 'sorter',
    endpointUrl,
    securityMode: 'None' as const,
    role: 'plc',
    backoff: { initialMs: 200, maxMs: 2000 },
    signals: [],
    outputs: [
      {
        name: 'by-position',
        kind: 'decision',
        keyBy: 'plcTrackingId',
        objectId: node('Sorter1'),
        methodId: node('Sorter1.AssignDestination'),
        arguments: ['key', 'destination'],
        ack: { mode: 'methodOutput', okValues: [0], timeoutMs: 300 },
      },
      {
        name: 'by-name',
        kind: 'decision',
        keyBy: 'waybill',
        objectId: node('Sorter1'),
        methodId: node('Sorter1.AssignDestination'),
        arguments: [
          { name: 'Destination', value: 'destination' },
          { name: 'Key', value: 'key' },
        ],
        destinationType: 'Int16',
        ack: { mode: 'methodOutput', okValues: [0] },
      },
      {
        name: 'by-registers',
        kind: 'decision',
        keyBy: 'plcTrackingId',
        keyNodeId: node('Sorter1.Request.Key'),
        destinationNodeId: node('Sorter1.Request.Destination'),
        destinationType: 'Int32',
        strobeNodeId: node('Sorter1.Request.Strobe'),
        ack: { mode: 'handshake', nodeId: node('Sorter1.Request.Ack'), expect: 'strobe' },
      },
    ],
  });

  const command = (over: Partial<PlcDivertCommand>): PlcDivertCommand => ({
    kind: 'plcDivert',
    action: 'divert',
    plcId: 'sorter',
    gateId: 'sorter-dp1',
    parcelId: 'P-1',
    code: null,
    keys: { waybill: null, plcTracking: null, inductionSeq: 1 },
    seq: 1,
    lane: 'inspection',
    outlet: 'inspection',
    destination: 1,
    issuedAtMono: systemClock.monoMs(),
    atDiverterMono: systemClock.monoMs() + 5000,
    ...over,
  });

  const handOff = (output: string): PlcHandOff => {
    let h = handOffs.get(output);
    if (!h) {
      h = new PlcHandOff({
        drivers: () => [driver],
        decisionOutput: () => output,
        record: (e) => events.push(...e),
        clock: systemClock,
        log: silentLogger(),
      });
      handOffs.set(output, h);
    }
    return h;
  };
  const induct = async (waybill: string) =>
    String((await sim.command({ cmd: 'induct', waybill })).trackingId);
  const sortedAs = async (trackingId: string) =>
    ((await sim.command({ cmd: 'sort', trackingId })).sorted as { destination: number } | null)
      ?.destination;
  const event = (type: string, parcelId: string) =>
    waitFor(() => events.find((e) => e.type === type && e.parcelId === parcelId), {
      what: `${type} for ${parcelId}`,
      timeoutMs: 10_000,
    });

  beforeAll(async () => {
    sim = await startSim(['--default-destination', '3']);
    dir = mkdtempSync(join(tmpdir(), 'plc-handoff-'));
    const entry = { id: 'opcua-1', kind: 'opcua', servers: [sorterServer(sim.endpoint)] };
    ({ driver } = makeDriver(opcuaConfig(entry), dir));
    await driver.start();
    await waitFor(() => driver.serverHealth()[0]?.state === 'connected', {
      timeoutMs: 30_000,
      what: 'connected',
    });
    expect(decisionOutputs([entry]).get('sorter')).toBe('by-position');
  }, 90_000);

  afterAll(async () => {
    for (const h of handOffs.values()) h.stop();
    await driver?.stop();
    await sim?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('by method, arguments by position, keyed by the PLC tracking id: acknowledged, the parcel sorted to its Int32 destination', async () => {
    const id = await induct('RR000000014CN');
    handOff('by-position').send(
      command({ parcelId: 'P-1', keys: { waybill: null, plcTracking: id, inductionSeq: 1 } }),
    );
    const ack = await event('plc.handoff', 'P-1');
    expect(ack.payload).toMatchObject({
      key: id,
      via: 'methodOutput',
      destination: 1,
      attempts: 1,
    });
    expect(ack.payload.slackMs).toBeGreaterThan(3000);
    expect(await sortedAs(id)).toBe(1);
    // without a hand-off the PLC sorts by its default: pass
    expect(await sortedAs(await induct('RR000000028CN'))).toBe(3);
  });

  it('by method, arguments by name, keyed by the waybill, Int16 destination codes checked', async () => {
    const id = await induct('RR000000031CN');
    handOff('by-name').send(
      command({
        parcelId: 'P-2',
        keys: { waybill: 'RR000000031CN', plcTracking: null, inductionSeq: 2 },
        destination: 2,
        outlet: 'exception',
        lane: 'exception',
      }),
    );
    expect((await event('plc.handoff', 'P-2')).payload).toMatchObject({ key: 'RR000000031CN' });
    expect(await sortedAs(id)).toBe(2);
    handOff('by-name').send(
      command({
        parcelId: 'P-3',
        keys: { waybill: 'RR000000031CN', plcTracking: null, inductionSeq: 3 },
        destination: 40_000,
      }),
    );
    const failed = await event('plc.handoff_failed', 'P-3');
    expect(failed.payload).toMatchObject({ code: 'EDGE_PLC_DESTINATION', attempts: 1 });
  });

  it('by registers + strobe, acknowledged by the handshake variable', async () => {
    const id = await induct('RR000000045CN');
    handOff('by-registers').send(
      command({
        parcelId: 'P-4',
        keys: { waybill: null, plcTracking: id, inductionSeq: 4 },
        destination: 3,
        outlet: 'pass',
        lane: 'pass',
      }),
    );
    expect((await event('plc.handoff', 'P-4')).payload).toMatchObject({
      via: 'handshake',
      key: id,
    });
    expect(await sortedAs(id)).toBe(3);
  });

  it('a parcel without the key the PLC knows is a failure and an alarm, never a UUID', async () => {
    handOff('by-position').send(command({ parcelId: 'P-5' }));
    expect((await event('plc.handoff_failed', 'P-5')).payload).toMatchObject({
      code: 'EDGE_PLC_NO_KEY',
    });
    expect((await event('alarm.plc-handoff-unacked', 'P-5')).payload).toMatchObject({
      severity: 'critical',
      lane: 'inspection',
    });
  });

  it('a PLC that does not acknowledge: retried while there is time, then alarmed; health degraded', async () => {
    const id = await induct('RR000000059CN');
    await sim.command({ cmd: 'plcAck', running: false });
    try {
      const h = handOff('by-position');
      h.send(
        command({
          parcelId: 'P-6',
          keys: { waybill: null, plcTracking: id, inductionSeq: 6 },
          atDiverterMono: systemClock.monoMs() + 1500,
        }),
      );
      await event('plc.handoff_retry', 'P-6');
      expect(h.health().state).toBe('degraded');
      const failed = await event('plc.handoff_failed', 'P-6');
      expect(failed.payload).toMatchObject({ code: 'EDGE_PLC_ACK' });
      expect(Number(failed.payload.attempts)).toBeGreaterThan(1);
      expect(await event('alarm.plc-handoff-unacked', 'P-6')).toBeDefined();
      expect(h.health()).toMatchObject({ state: 'degraded', lastError: { code: 'EDGE_PLC_ACK' } });
    } finally {
      await sim.command({ cmd: 'plcAck', running: true });
    }
    // the unacknowledged parcel followed the PLC's default destination
    expect(await sortedAs(id)).toBe(3);
  });

  it('a revised decision replaces the pending one', async () => {
    const id = await induct('RR000000062CN');
    const h = handOff('by-position');
    const keys = { waybill: null, plcTracking: id, inductionSeq: 7 };
    h.send(
      command({ parcelId: 'P-7', keys, seq: 1, destination: 3, outlet: 'pass', lane: 'pass' }),
    );
    h.send(command({ parcelId: 'P-7', keys, seq: 2, destination: 1 }));
    await waitFor(
      () => events.filter((e) => e.type === 'plc.handoff' && e.parcelId === 'P-7').length === 2,
      { what: 'both acknowledged' },
    );
    expect(await sortedAs(id)).toBe(1);
  });
});
