import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import type { CtVerdictInput, DeviceStatusInput, EngineInput } from '../../edge/engine/types.js';
import type { DriverAlarm } from '../../drivers/driver.js';
import type { OpcuaDriver } from '../../drivers/opcua/opcua-driver.js';
import { waitFor } from '../support/wait.js';
import { SIM_NS } from '../../drivers/opcua/signal-mapping.js';
import { makeDriver, node, opcuaConfig, simServer } from './helpers.js';
import { startSim, type OpcuaSim } from './sim-process.js';

/**
 * The OPC UA driver against a real node-opcua server process (the simulator), killed and
 * restarted mid-stream. One driver for the whole file: starting servers costs seconds.
 */

const T = { timeoutMs: 30_000 };
let sim: OpcuaSim;
let dataDir: string;
let driver: OpcuaDriver;
let signals: EngineInput[];

const server = () => driver.serverHealth()[0]!;
const find = <K extends EngineInput['type']>(
  type: K,
  pred: (s: Extract<EngineInput, { type: K }>) => boolean,
) =>
  signals.find((s): s is Extract<EngineInput, { type: K }> => s.type === type && pred(s as never));

beforeAll(async () => {
  sim = await startSim(['--life-bit-ms', '250']);
  dataDir = mkdtempSync(join(tmpdir(), 'opcua-driver-'));
  ({ driver, signals } = makeDriver(
    opcuaConfig({ id: 'opcua-1', kind: 'opcua', servers: [simServer(sim.endpoint)] }),
    dataDir,
  ));
  await driver.start();
  await waitFor(() => server().state === 'connected', { ...T, what: 'connected' });
}, 90_000);

afterAll(async () => {
  await driver?.stop();
  await sim?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('OPC UA driver against the simulator process', () => {
  it('creates its application certificate in the PKI folder it owns', () => {
    const health = driver.health();
    expect(health.details.pkiDir).toBe(join(dataDir, 'pki/opcua'));
    expect(server().sessionId).toBeTruthy();
    expect(server().subscriptionId).toBeGreaterThan(0);
    // a node-opcua server's minimum; the driver asked for 0 = the fastest allowed
    expect(server().revisedPublishingIntervalMs).toBe(50);
  });

  it('a bad nodeId is a clear error for that signal only', () => {
    const bad = server().signals.find((s) => s.name === 'bad.signal')!;
    expect(bad.state).toBe('error');
    expect(bad.error).toMatch(/BadNodeIdUnknown/);
    expect(server().lastError?.code).toBe('EDGE_OPCUA_SIGNAL');
    expect(server().lastError?.message).toMatch(/bad\.signal/);
    for (const s of server().signals.filter((x) => x.name !== 'bad.signal')) {
      expect(s.state, s.name).toBe('monitoring');
    }
    expect(driver.health().state).toBe('degraded');
  });

  it('maps a CT scan-complete event to a verdict placed at the scan time', async () => {
    const before = systemClock.monoMs();
    await sim.command({
      cmd: 'verdict',
      trackingId: 'T-1',
      verdict: 'ALARM',
      imageId: 'IMG-1',
      scannedAgoMs: 2000,
    });
    const v = await waitFor(() => find('ctVerdict', (s) => s.scanId === 'T-1'), T);
    expect(v).toMatchObject<Partial<CtVerdictInput>>({
      deviceId: 'ct-1',
      verdict: 'suspect',
      imageId: 'IMG-1',
    });
    // scannedAtMono = when the parcel was in the tunnel, ~2 s before the event
    expect(v.scannedAtMono).toBeLessThan(before - 1000);
    expect(v.scannedAtMono).toBeGreaterThan(before - 4000);
    await sim.command({ cmd: 'verdict', trackingId: 'T-2', verdict: 'NO_ALARM' });
    await sim.command({ cmd: 'verdict', trackingId: 'T-3', verdict: 'SOMETHING_ELSE' });
    expect((await waitFor(() => find('ctVerdict', (s) => s.scanId === 'T-2'), T)).verdict).toBe(
      'clear',
    );
    expect((await waitFor(() => find('ctVerdict', (s) => s.scanId === 'T-3'), T)).verdict).toBe(
      'unknown',
    );
  });

  it('maps data changes (photo-eye edges, belt speed) and AutoID scan events', async () => {
    await sim.command({ cmd: 'photoEye', value: true });
    await waitFor(
      () => find('photoEye', (s) => s.edge === 'leading' && s.deviceId === 'pe-infeed'),
      T,
    );
    await sim.command({ cmd: 'photoEye', value: false });
    await waitFor(() => find('photoEye', (s) => s.edge === 'trailing'), T);
    await sim.command({ cmd: 'beltSpeed', value: 1.5 });
    await waitFor(() => find('beltSpeed', (s) => s.mmPerS === 1500 && s.deviceId === 'plc-1'), T);
    // Machine Vision ResultReadyEventType: PartId / ResultId structures, ResultState Int32
    await sim.command({ cmd: 'mvResult', partId: 'MV-PART-1', resultId: 'MV-R-1', resultState: 1 });
    await sim.command({ cmd: 'mvResult', partId: 'MV-PART-2', resultState: 2 });
    await sim.command({ cmd: 'mvResult', partId: 'MV-PART-3', resultState: 7 });
    const mv = await waitFor(() => {
      const got = signals.filter(
        (s): s is CtVerdictInput => s.type === 'ctVerdict' && s.deviceId === 'ct-mv',
      );
      return got.length >= 3 ? got : null;
    }, T);
    expect(mv.map((v) => [v.scanId, v.verdict, v.imageId])).toEqual([
      ['MV-PART-1', 'clear', 'MV-R-1'],
      ['MV-PART-2', 'suspect', 'R-MV-PART-2'],
      ['MV-PART-3', 'unknown', 'R-MV-PART-3'],
    ]);

    await sim.command({ cmd: 'barcode', code: 'RD223479072CN' });
    const scan = await waitFor(() => find('barcode', (s) => s.code === 'RD223479072CN'), T);
    expect(scan).toMatchObject({ deviceId: 'scanner-1', valid: true, symbology: 'Code128' });
    // the same identifier check as a serial scanner: a wrong S10 check digit is a misread
    await sim.command({ cmd: 'barcode', code: 'RD223479073CN' });
    expect(
      await waitFor(() => find('barcode', (s) => s.code === 'RD223479073CN'), T),
    ).toMatchObject({ valid: false });
    const h = server().signals.find((s) => s.name === 'pe.infeed')!;
    expect(h.values).toBeGreaterThanOrEqual(2);
    expect(h.lastValueAt).not.toBeNull();
  });

  // the simulator's line PLC takes lane names (its method: TrackingId, Lane)
  const decision = (waybill: string, lane: string) => ({
    parcelId: `P-${waybill}`,
    keys: { waybill, plcTracking: null, inductionSeq: 1 },
    lane,
    destination: lane,
    seq: 1,
  });

  it('hands a decision to the PLC by method and by writes, toggles the gateway life bit', async () => {
    const byMethod = sim.next((m) => m.event === 'decision' && m.trackingId === 'RD1');
    await driver.handOffDecision('sim', 'plc.decision', decision('RD1', 'inspection'));
    expect(await byMethod).toMatchObject({ lane: 'inspection', via: 'method' });
    const byWrite = sim.next((m) => m.event === 'decision' && m.trackingId === 'RD2');
    await driver.handOffDecision('sim', 'plc.decisionByWrite', decision('RD2', 'pass'));
    expect(await byWrite).toMatchObject({ lane: 'pass', via: 'strobe' });
    await expect(
      driver.handOffDecision('sim', 'plc.decision', decision('RD3', 'nowhere')),
    ).rejects.toMatchObject({ code: 'EDGE_PLC_ACK' });
    const first = await driver.toggleLifeBit('sim', 'gw.lifeBit');
    expect((await driver.readNode('sim', node('PLC1.GatewayLifeBit'))).value).toBe(first);
    const second = await driver.toggleLifeBit('sim', 'gw.lifeBit');
    expect(second).toBe(!first);
    expect((await driver.readNode('sim', node('PLC1.GatewayLifeBit'))).value).toBe(second);
    await expect(driver.write('sim', 'no.such.output', 1)).rejects.toMatchObject({
      code: 'EDGE_OPCUA_UNKNOWN_NAME',
    });
  });

  it('browses and reads nodes', async () => {
    const objects = await driver.browse('sim');
    expect(objects.map((c) => c.browseName)).toEqual(
      expect.arrayContaining(['5:CTScanner', '5:SorterPLC']),
    );
    const plc = objects.find((c) => c.browseName === '5:SorterPLC')!;
    const children = await driver.browse('sim', plc.nodeId);
    const speed = children.find((c) => c.browseName === '5:BeltSpeed')!;
    expect(speed).toMatchObject({ nodeClass: 'Variable', dataType: 'Double', value: 1.5 });
    const attrs = await driver.readNode('sim', node('CT1.Verdict'));
    expect(attrs).toMatchObject({
      nodeClass: 'Variable',
      browseName: '5:Verdict',
      dataType: 'String',
    });
    await expect(driver.readNode('sim', node('Nope'))).rejects.toMatchObject({
      code: 'EDGE_OPCUA_UNKNOWN_NAME',
    });
  });

  it('delivers a burst whole; a data queue too small for it overflows, is counted and alarmed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opcua-overflow-'));
    const { driver: d2, signals: got } = makeDriver(
      opcuaConfig({
        id: 'opcua-2',
        kind: 'opcua',
        servers: [
          {
            id: 'sim2',
            endpointUrl: sim.endpoint,
            securityMode: 'None',
            signals: [
              {
                name: 'ct1.verdict',
                kind: 'ctVerdict',
                nodeId: node('CT1'),
                fieldNamespace: SIM_NS,
              },
              {
                name: 'pe.big',
                kind: 'photoEye',
                nodeId: node('PLC1.PE.Infeed'),
                deviceId: 'pe-big',
              },
              {
                name: 'pe.small',
                kind: 'photoEye',
                nodeId: node('PLC1.PE.Infeed'),
                deviceId: 'pe-small',
                queueSize: 2,
              },
            ],
          },
        ],
      }),
      dir,
    );
    const alarms: DriverAlarm[] = [];
    d2.on('alarm', (a) => alarms.push(a));
    try {
      await d2.start();
      await waitFor(() => d2.serverHealth()[0]!.state === 'connected', {
        timeoutMs: 20_000,
        what: 'd2 connected',
      });
      await sim.command({ cmd: 'verdicts', count: 300, burst: 300, prefix: 'OV' });
      const full = () =>
        got.filter(
          (s) => s.type === 'ctVerdict' && s.deviceId === 'sim2' && s.scanId.startsWith('OV-'),
        );
      await waitFor(() => full().length >= 300, {
        timeoutMs: 20_000,
        what: '300 verdicts',
      });
      expect(new Set(full().map((s) => (s as CtVerdictInput).scanId)).size).toBe(300);
      // node-opcua servers flag data-change overflows (event-queue overflow events are a
      // to-do in node-opcua's server; spec servers send EventQueueOverflowEventType, counted too)
      const edges = () => got.filter((s) => s.type === 'photoEye' && s.deviceId === 'pe-big');
      await sim.command({ cmd: 'photoEyeBurst', count: 40 });
      // 40 edges inside one publishing interval, all delivered through a queue large enough
      await waitFor(() => edges().length >= 40, { timeoutMs: 20_000, what: '40 edges' });
      const small = () => d2.serverHealth()[0]!.signals.find((s) => s.name === 'pe.small')!;
      await waitFor(() => small().overflows > 0, { timeoutMs: 20_000, what: 'overflow counted' });
      expect(d2.serverHealth()[0]!.overflows).toBeGreaterThan(0);
      // one alarm (not one per lost value) naming the server and the signal
      expect(alarms).toEqual([
        {
          code: 'EDGE_OPCUA_QUEUE_OVERFLOW',
          message: expect.stringMatching(/values were lost/) as string,
          details: expect.objectContaining({ server: 'sim2', signal: 'pe.small' }) as object,
        },
      ]);
      expect(d2.serverHealth()[0]!.signals.find((s) => s.name === 'ct1.verdict')!.overflows).toBe(
        0,
      );
    } finally {
      await d2.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('life bit stops: device lost; resumes: recovered', async () => {
    const ctStatus = () =>
      signals.filter(
        (s): s is DeviceStatusInput => s.type === 'deviceStatus' && s.deviceId === 'ct-1',
      );
    await waitFor(() => ctStatus().at(-1)?.ok === true, { ...T, what: 'ct-1 alive' });
    await sim.command({ cmd: 'lifeBit', running: false });
    const lost = await waitFor(() => (ctStatus().at(-1)?.ok === false ? ctStatus().at(-1) : null), {
      ...T,
      what: 'ct-1 lost',
    });
    expect(lost).toMatchObject({ role: 'ct', reason: 'life bit stopped' });
    await sim.command({ cmd: 'lifeBit', running: true });
    const back = await waitFor(() => (ctStatus().at(-1)?.ok === true ? ctStatus().at(-1) : null), {
      ...T,
      what: 'ct-1 recovered',
    });
    expect(back?.reason).toMatch(/life bit/);
  });

  it('a frozen server (socket open, no publish responses) is a lost device until values flow', async () => {
    const recreated = server().subscriptionsRecreated;
    const statusCount = signals.length;
    sim.freeze();
    try {
      await waitFor(() => server().state === 'reconnecting', { ...T, what: 'stall detected' });
      await waitFor(
        () =>
          signals
            .slice(statusCount)
            .find((s) => s.type === 'deviceStatus' && s.deviceId === 'ct-1' && !s.ok),
        { ...T, what: 'device lost on stall' },
      );
    } finally {
      sim.thaw();
    }
    await waitFor(
      () => server().state === 'connected' && server().subscriptionsRecreated > recreated,
      {
        timeoutMs: 60_000,
        what: 'subscription re-created',
      },
    );
    await sim.command({ cmd: 'verdict', trackingId: 'THAWED', verdict: 'NO_ALARM' });
    await waitFor(() => find('ctVerdict', (s) => s.scanId === 'THAWED'), T);
  }, 120_000);

  it('recovers on its own from a server restart mid-stream', async () => {
    const reconnectsBefore = server().reconnects;
    await sim.command({ cmd: 'verdict', trackingId: 'BEFORE', verdict: 'NO_ALARM' });
    await waitFor(() => find('ctVerdict', (s) => s.scanId === 'BEFORE'), T);
    const statusCount = signals.filter((s) => s.type === 'deviceStatus').length;
    await sim.kill();
    await waitFor(() => server().state === 'reconnecting', { ...T, what: 'reconnecting' });
    await waitFor(
      () =>
        signals
          .slice(statusCount)
          .find((s) => s.type === 'deviceStatus' && s.deviceId === 'ct-1' && !s.ok),
      { ...T, what: 'device lost on disconnect' },
    );
    expect(driver.health().state).toBe('degraded');
    await sim.start();
    await waitFor(() => server().state === 'connected' && server().reconnects > reconnectsBefore, {
      timeoutMs: 60_000,
      what: 'reconnected',
    });
    // values flow again through the re-created subscription
    await waitFor(
      async () => {
        await sim.command({ cmd: 'verdict', trackingId: 'AFTER', verdict: 'ALARM' });
        return waitFor(() => find('ctVerdict', (s) => s.scanId === 'AFTER'), {
          timeoutMs: 3000,
        }).catch(() => null);
      },
      { timeoutMs: 45_000, what: 'verdict after restart' },
    );
    await sim.command({ cmd: 'beltSpeed', value: 0.4 });
    await waitFor(() => find('beltSpeed', (s) => s.mmPerS === 400), T);
    await waitFor(
      () =>
        signals
          .slice(statusCount)
          .find((s) => s.type === 'deviceStatus' && s.deviceId === 'ct-1' && s.ok),
      { ...T, what: 'device recovered after restart' },
    );
  }, 120_000);
});
