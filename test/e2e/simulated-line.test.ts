import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import type { SimulatedLineDriver } from '../../drivers/simulated/line-simulator.js';
import { systemClock } from '../../edge/clock.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';
import { ContractChecker } from '../support/contract.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * The walking skeleton end to end: simulated photo-eye + scanner + CT -> engine -> gate
 * controller process -> SQLite outbox -> a real Mosquitto broker -> a separate subscriber.
 */
const PARCELS = 200;

function testConfig(dataDir: string, brokerUrl: string) {
  const doc = parse(
    readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
  ) as Record<string, any>;
  doc.dataDir = dataDir;
  doc.log = { level: 'silent', pretty: false };
  doc.http.port = 0;
  doc.http.users = [{ name: 'viewer', role: 'viewer', password: 'viewer-password' }];
  doc.embeddedBroker.enabled = false;
  doc.uplink.url = brokerUrl;
  doc.line.beltSpeedMmPerS = 5000; // a fast line so a few hundred parcels take seconds
  // the simulator keeps >= 120 mm between parcels; at 5 m/s a gate 24 ms late is 120 mm off
  doc.line.minGapMm = 120;
  doc.gates.maxLateMs = 24;
  const sim = doc.drivers[0];
  Object.assign(sim, {
    parcelsPerMinute: 900,
    parcelLengthMm: { min: 100, max: 250 },
    verdictDelayMs: { min: 20, max: 300 },
    suspectRate: 0.08,
    unknownRate: 0.02,
    noReadRate: 0.05,
    invalidIdRate: 0.02,
    lateVerdictRate: 0.05,
    missingVerdictRate: 0.02,
    maxParcels: PARCELS,
    seed: 42,
  });
  return new ConfigValidator(driverKindSchemas()).parse(doc);
}

describe('simulated line end to end (real Mosquitto)', () => {
  let broker: MosquittoProcess;
  let subscriber: MqttClient;
  let gateway: Gateway;
  let dataDir: string;
  const received: EdgeEvent[] = [];
  const topics = new Map<number, string>();
  const contract = new ContractChecker();
  const statuses = new Map<string, unknown>();

  beforeAll(async () => {
    broker = await startMosquitto();
    dataDir = mkdtempSync(join(tmpdir(), 'edge-e2e-'));
    subscriber = await connectAsync(broker.url, { clientId: 'platform-test', clean: true });
    subscriber.on('message', (topic, payload) => {
      if (topic.endsWith('/status') && payload.length > 0)
        statuses.set(topic, JSON.parse(payload.toString()));
      if (topic.endsWith('/telemetry')) contract.check(JSON.parse(payload.toString()));
      if (!topic.includes('/events/')) return;
      const event = JSON.parse(payload.toString()) as EdgeEvent;
      contract.check(event as unknown as EdgeEvent & Record<string, unknown>);
      received.push(event);
      topics.set(event.seq, topic);
    });
    await subscriber.subscribeAsync('customs/demo-site/gw-demo-01/#', { qos: 1 });
    gateway = new Gateway({
      config: testConfig(dataDir, broker.url),
      log: silentLogger(),
      clock: systemClock,
      version: 'test',
    });
    await gateway.start();
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await subscriber?.endAsync();
    await broker?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('decides every parcel, publishes every event in order, and never passes a suspect or late parcel', async () => {
    const sim = gateway.drivers.find((d) => d.id === 'sim-line') as SimulatedLineDriver;
    const decidedCount = () =>
      new Set(received.filter((e) => e.type === 'parcel.decided').map((e) => e.parcelId)).size;
    await waitFor(() => decidedCount() >= PARCELS, {
      timeoutMs: 90_000,
      what: `${PARCELS} decisions at the subscriber`,
    });
    // and the outbox has nothing left to send
    await waitFor(() => gateway.outbox?.stats().pending === 0, {
      timeoutMs: 20_000,
      what: 'outbox drained',
    });
    await waitFor(() => received.some((e) => e.seq === gateway.outbox?.stats().lastSeq), {
      what: 'last event received',
    });

    // sequence: no gaps, duplicates only as the same event id
    const bySeq = new Map<number, string>();
    for (const e of received) {
      const id = bySeq.get(e.seq);
      if (id !== undefined) expect(id).toBe(e.id);
      bySeq.set(e.seq, e.id);
    }
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    expect(seqs[0]).toBe(1);
    expect(seqs.length).toBe(seqs.at(-1));
    // first delivery of each seq came in order
    const firstSeen: number[] = [];
    const seen = new Set<number>();
    for (const e of received) {
      if (seen.has(e.seq)) continue;
      seen.add(e.seq);
      firstSeen.push(e.seq);
    }
    expect(firstSeen).toEqual(seqs);
    // every event on its type's topic, with an id and a schema version
    for (const e of received) {
      expect(topics.get(e.seq)).toBe(`customs/demo-site/gw-demo-01/events/${e.type}`);
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.schema).toBe(1);
    }

    // each parcel: inducted and decided exactly once; join with the simulator's ground truth
    const inducted = received.filter((e) => e.type === 'parcel.inducted');
    expect(new Set(inducted.map((e) => e.parcelId)).size).toBe(PARCELS);
    const decisions = new Map(
      received.filter((e) => e.type === 'parcel.decided').map((e) => [e.parcelId, e]),
    );
    const truthByTime = new Map(sim.truthLog().map((t) => [t.inductedAtMono, t]));
    let suspects = 0;
    let late = 0;
    for (const i of inducted) {
      const truth = truthByTime.get(i.monoMs);
      expect(truth, `ground truth for parcel inducted at ${i.monoMs}`).toBeDefined();
      const decision = decisions.get(i.parcelId);
      expect(decision, `decision for ${i.parcelId}`).toBeDefined();
      const lane = decision!.payload.lane;
      if (truth!.verdict !== 'clear' || truth!.late || truth!.missing) {
        if (truth!.verdict === 'suspect') suspects++;
        if (truth!.late || truth!.missing) late++;
        expect(lane, `parcel ${i.parcelId} (${JSON.stringify(truth)})`).toBe('inspection');
      }
      if (lane === 'pass') {
        expect(truth!.verdict).toBe('clear');
        expect(truth!.codeValid).toBe(true);
      }
    }
    // the run exercised the fail-safe paths it claims to test
    expect(suspects).toBeGreaterThan(3);
    expect(late).toBeGreaterThan(3);

    // gates fired (in the gate-controller process) for diverted parcels: every diverted parcel
    // decided long enough before the end to have reached its gate (10 s: the line is under 10 m
    // at 1 m/s) has its gate.fired, or a gate.failed (a command refused: the controller arms on
    // the gateway's first heartbeat once it runs, or a command came too late on a loaded machine;
    // the parcel then runs straight on to inspection), never nothing
    const lastMono = Math.max(...received.map((e) => e.monoMs));
    const reported = new Set(
      received
        .filter((e) => e.type === 'gate.fired' || e.type === 'gate.failed')
        .map((e) => e.parcelId),
    );
    const due = [...decisions.values()].filter(
      (d) => d.payload.lane !== 'inspection' && d.monoMs < lastMono - 10_000,
    );
    expect(due.length).toBeGreaterThan(10);
    expect(due.filter((d) => !reported.has(d.parcelId)).map((d) => d.parcelId)).toEqual([]);
    const fired = received.filter((e) => e.type === 'gate.fired').length;
    expect(fired).toBeGreaterThan(due.length * 0.75);
  }, 120_000);

  it('every message on the wire validates against asyncapi.yaml (events, telemetry, statuses)', async () => {
    await waitFor(() => contract.checkedTypes.has('telemetry') || gateway.telemetry === null, {
      timeoutMs: 20_000,
      what: 'a telemetry message',
    });
    expect(contract.report()).toBe('');
    expect(contract.checkedTypes.get('parcel.decided')).toBeGreaterThanOrEqual(PARCELS);
    expect(contract.checkedTypes.has('gateway.started')).toBe(true);
    expect(contract.checkedTypes.has('gate.fired')).toBe(true);
    const base = 'customs/demo-site/gw-demo-01';
    expect(contract.checkComponent('Status', statuses.get(`${base}/status`))).toBeNull();
    const devices = [...statuses].filter(([t]) => t.startsWith(`${base}/devices/`));
    expect(devices.map(([t]) => t).sort()).toEqual(
      [`${base}/devices/gates/status`, `${base}/devices/sim-line/status`].sort(),
    );
    for (const [, s] of devices) expect(contract.checkComponent('DeviceStatus', s)).toBeNull();
  }, 30_000);

  it('health is public; the parcel list needs a login', async () => {
    const base = gateway.httpAddress!;
    const health = (await (await fetch(`${base}/api/health`)).json()) as {
      drivers: { id: string; state: string }[];
      uplink: { state: string };
    };
    expect(health.uplink.state).toBe('connected');
    expect(health.drivers.map((d) => d.id)).toEqual(['gates', 'sim-line']);
    expect((await fetch(`${base}/api/parcels`)).status).toBe(401);
    const auth = {
      authorization: `Basic ${Buffer.from('viewer:viewer-password').toString('base64')}`,
    };
    const parcels = (await (await fetch(`${base}/api/parcels`, { headers: auth })).json()) as {
      totals: { inducted: number };
    };
    expect(parcels.totals.inducted).toBe(PARCELS);
  });
});
