import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { connectOptions } from '../../edge/uplink/connect-options.js';
import type { HealthLike } from '../../edge/uplink/device-availability.js';
import {
  DataType,
  decodePayload,
  encodePayload,
  type SparkplugPayload,
} from '../../edge/uplink/sparkplug/codec.js';
import { SparkplugUplink } from '../../edge/uplink/sparkplug/sparkplug-uplink.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait.js';
import { draft, openOutbox, tempDir, uplinkConfig } from './helpers.js';

/**
 * The test plays the primary host application ("scada") against a real Mosquitto (MQTT 5) and
 * checks the Sparkplug B 3.0 rules of an edge node one by one, on what reaches the broker.
 */
const G = 'site-sp';
const N = 'gw-sp';
const HOST = 'scada';
const NS = `spBv1.0/${G}`;

interface Seen {
  topic: string;
  verb: string;
  device: string | null;
  qos: number;
  retain: boolean;
  p: SparkplugPayload;
  at: number;
}

const metric = (p: SparkplugPayload, name: string) => p.metrics?.find((m) => m.name === name);

describe('Sparkplug B edge node against a host application (real Mosquitto, MQTT 5)', () => {
  let broker: MosquittoProcess;
  let proxy: TcpProxy;
  let host: MqttClient;
  let outbox: Outbox;
  let node: SparkplugUplink;
  let dir: string;
  const seen: Seen[] = [];
  const devices: HealthLike[] = [
    { id: 'gates', kind: 'gates', state: 'running' },
    { id: 'scanner-1', kind: 'serial', state: 'running' },
  ];
  let stateTs = 0;
  const fromNode = () => seen.filter((s) => s.verb !== 'STATE' && s.verb !== 'NCMD');
  const after = (i: number) => fromNode().slice(i);
  const last = (verb: string) =>
    fromNode()
      .filter((s) => s.verb === verb)
      .at(-1);

  const publishState = async (online: boolean, timestamp: number) => {
    await host.publishAsync(`spBv1.0/STATE/${HOST}`, JSON.stringify({ online, timestamp }), {
      qos: 1,
      retain: true,
    });
  };

  beforeAll(async () => {
    broker = await startMosquitto();
    proxy = await TcpProxy.start(broker.port);
    dir = tempDir('sparkplug-');
    outbox = openOutbox(dir);
    // the host application: clean session, its STATE death as will, subscribed to everything
    stateTs = Date.now();
    host = await connectAsync(broker.url, {
      clientId: 'scada-host',
      protocolVersion: 5,
      clean: true,
      properties: { sessionExpiryInterval: 0 },
      will: {
        topic: `spBv1.0/STATE/${HOST}`,
        payload: Buffer.from(JSON.stringify({ online: false, timestamp: stateTs })),
        qos: 1,
        retain: true,
      },
    });
    host.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      const parts = topic.split('/');
      const verb = parts[1] === 'STATE' ? 'STATE' : parts[2]!;
      seen.push({
        topic,
        verb,
        device: parts[4] ?? null,
        qos: packet.qos,
        retain: packet.retain,
        p: verb === 'STATE' ? {} : decodePayload(payload),
        at: Date.now(),
      });
    });
    await host.subscribeAsync(`${NS}/#`, { qos: 1, rap: true });
    // a backlog stored before the node ever connected
    await outbox.append(Array.from({ length: 30 }, (_, i) => draft('parcel.inducted', i)));
    await outbox.append([
      {
        type: 'parcel.decided',
        parcelId: 'p-1',
        atMono: 1,
        payload: {
          lineId: 'l',
          lane: 'inspection',
          outlet: 'inspection',
          ruleId: 'ct',
          reason: 'suspect',
          code: 'RD1',
        },
      },
    ]);
    node = new SparkplugUplink({
      config: uplinkConfig({
        url: `mqtt://127.0.0.1:${proxy.port}`,
        protocolVersion: 5,
        mode: 'sparkplug',
        keepaliveS: 1,
        backoff: { initialMs: 100, maxMs: 300 },
        sparkplug: { primaryHostId: HOST, batchMaxEvents: 5 },
      }),
      gatewayId: N,
      site: G,
      version: 'test',
      startedAt: new Date().toISOString(),
      outbox,
      clock: systemClock,
      log: silentLogger(),
      devices: () => devices,
      bdSeqFile: join(dir, 'bdseq.json'),
    });
    node.start();
  });

  afterAll(async () => {
    await node?.stop();
    await host?.endAsync();
    outbox?.close();
    await proxy?.dispose();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with a clean session and an NDEATH will (QoS 1, not retained, bdSeq only)', () => {
    const options = connectOptions(
      uplinkConfig({ url: 'mqtt://x', protocolVersion: 5 }),
      N,
      { topic: `${NS}/NDEATH/${N}`, payload: encodePayload({}), retain: false },
      'clean',
    );
    expect(options.clean).toBe(true);
    expect(options.properties?.sessionExpiryInterval).toBe(0);
    expect(options.will).toMatchObject({ qos: 1, retain: false, topic: `${NS}/NDEATH/${N}` });
  });

  it('waits for the primary host STATE online before any birth', async () => {
    await waitFor(() => node.sessionPhase === 'waiting-host', { what: 'node waiting for host' });
    expect(fromNode()).toEqual([]);
    await publishState(true, stateTs);
    await waitFor(() => last('NBIRTH'), { what: 'NBIRTH' });
    expect(fromNode()[0]!.verb).toBe('NBIRTH');
  });

  it('NBIRTH: QoS 0, not retained, seq 0, timestamp, bdSeq Int64, Rebirth false without alias, names + aliases, templates', () => {
    const b = last('NBIRTH')!;
    expect(b.topic).toBe(`${NS}/NBIRTH/${N}`);
    expect(b.qos).toBe(0);
    expect(b.retain).toBe(false);
    expect(b.p.seq).toBe(0);
    expect(b.p.timestamp).toBeGreaterThan(0);
    expect(metric(b.p, 'bdSeq')).toMatchObject({ datatype: DataType.Int64, longValue: 0 });
    const rebirth = metric(b.p, 'Node Control/Rebirth')!;
    expect(rebirth).toMatchObject({ datatype: DataType.Boolean, booleanValue: false });
    expect(rebirth.alias).toBeUndefined();
    for (const m of b.p.metrics!.filter((x) => x.name !== 'Node Control/Rebirth')) {
      expect(m.name, JSON.stringify(m)).toBeTruthy();
      expect(m.alias, m.name).toBeTypeOf('number');
      expect(m.datatype, m.name).toBeTypeOf('number');
    }
    for (const t of ['ParcelDecision', 'EdgeEvent'])
      expect(metric(b.p, t)?.templateValue?.isDefinition, t).toBe(true);
    expect(metric(b.p, 'Parcel/Decision')?.templateValue?.templateRef).toBe('ParcelDecision');
    expect(metric(b.p, 'Line/Parcels Per Min')?.datatype).toBe(DataType.Double);
  });

  it('a DBIRTH per device after the NBIRTH (seq 1, 2), aliases unique across the node', async () => {
    await waitFor(() => fromNode().filter((s) => s.verb === 'DBIRTH').length >= 2, {
      what: 'DBIRTHs',
    });
    const [nb, d1, d2] = fromNode();
    expect(nb!.verb).toBe('NBIRTH');
    expect([d1!.verb, d2!.verb]).toEqual(['DBIRTH', 'DBIRTH']);
    expect([d1!.p.seq, d2!.p.seq]).toEqual([1, 2]);
    expect(new Set([d1!.device, d2!.device])).toEqual(new Set(['gates', 'scanner-1']));
    for (const d of [d1!, d2!]) {
      expect(d.qos).toBe(0);
      expect(d.retain).toBe(false);
      expect(metric(d.p, 'Status/State')).toMatchObject({ stringValue: 'online' });
    }
    const aliases = [nb!, d1!, d2!]
      .flatMap((s) => s.p.metrics!.map((m) => m.alias))
      .filter((a) => a !== undefined);
    expect(new Set(aliases).size).toBe(aliases.length);
  });

  it('then the backlog in commit order as NDATA: aliases only, historical, each event once, outbox drained', async () => {
    await waitFor(() => outbox.stats().pending === 0, { what: 'outbox drained (fenced)' });
    const data = fromNode().filter((s) => s.verb === 'NDATA');
    expect(data.length).toBeGreaterThan(0);
    const seqs: number[] = [];
    for (const d of data) {
      expect(d.qos).toBe(0);
      for (const m of d.p.metrics!) {
        expect(m.name).toBeUndefined();
        expect(m.alias).toBeTypeOf('number');
        expect(m.isHistorical).toBe(true);
        const seq = m.templateValue?.metrics?.find((x) => x.name === 'seq')?.longValue;
        if (seq !== undefined) seqs.push(seq);
      }
    }
    expect(seqs).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    const decision = data
      .flatMap((d) => d.p.metrics!)
      .find((m) => m.templateValue?.templateRef === 'ParcelDecision')!;
    const lane = decision.templateValue!.metrics!.find((m) => m.name === 'lane');
    expect(lane?.stringValue).toBe('inspection');
  });

  it('seq runs 0-255 over every message of the session and wraps to 0', async () => {
    await outbox.append(Array.from({ length: 1500 }, (_, i) => draft('parcel.identified', i)));
    await waitFor(() => outbox.stats().pending === 0, { timeoutMs: 20_000, what: 'drained' });
    const session = fromNode();
    expect(session.length).toBeGreaterThan(300);
    session.forEach((s, i) => expect(s.p.seq, `${i} ${s.verb}`).toBe(i % 256));
  });

  it('DDEATH when a device is lost, DBIRTH when it comes back', async () => {
    const n = fromNode().length;
    devices[1] = { id: 'scanner-1', kind: 'serial', state: 'failed', lastError: 'unplugged' };
    await waitFor(() => after(n).some((s) => s.verb === 'DDEATH'), { what: 'DDEATH' });
    const dd = after(n).find((s) => s.verb === 'DDEATH')!;
    expect(dd.topic).toBe(`${NS}/DDEATH/${N}/scanner-1`);
    expect(dd.p.seq).toBe(fromNode().indexOf(dd) % 256);
    devices[1] = { id: 'scanner-1', kind: 'serial', state: 'running' };
    await waitFor(() => after(n).some((s) => s.verb === 'DBIRTH'), { what: 'DBIRTH again' });
  });

  it('Node Control/Rebirth: NBIRTH with the same bdSeq and seq 0, then the DBIRTHs', async () => {
    const n = fromNode().length;
    const bdSeq = metric(last('NBIRTH')!.p, 'bdSeq')!.longValue;
    await host.publishAsync(
      `${NS}/NCMD/${N}`,
      encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: 'Node Control/Rebirth', datatype: DataType.Boolean, booleanValue: true }],
      }),
      { qos: 0 },
    );
    await waitFor(() => after(n).filter((s) => s.verb === 'DBIRTH').length >= 2, {
      what: 'rebirth',
    });
    const [nb, d1, d2] = after(n);
    expect(nb!.verb).toBe('NBIRTH');
    expect(nb!.p.seq).toBe(0);
    expect(metric(nb!.p, 'bdSeq')!.longValue).toBe(bdSeq);
    expect([d1!.verb, d1!.p.seq, d2!.verb, d2!.p.seq]).toEqual(['DBIRTH', 1, 'DBIRTH', 2]);
  });

  it('an offline STATE older than the last online one is ignored', async () => {
    const n = fromNode().length;
    await publishState(false, stateTs - 1000);
    // the rebirth request is handled after the STATE (same publisher, in order)
    await host.publishAsync(
      `${NS}/NCMD/${N}`,
      encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: 'Node Control/Rebirth', datatype: DataType.Boolean, booleanValue: true }],
      }),
      { qos: 1 },
    );
    await waitFor(() => after(n).some((s) => s.verb === 'NBIRTH'), { what: 'rebirth' });
    expect(after(n)[0]!.verb).toBe('NBIRTH');
    expect(node.sessionPhase).toBe('born');
  });

  it('the host goes offline: NDEATH (same bdSeq, no seq), disconnect, reconnect with bdSeq + 1 and wait', async () => {
    const n = fromNode().length;
    const bdSeq = metric(last('NBIRTH')!.p, 'bdSeq')!.longValue!;
    await publishState(false, stateTs);
    await waitFor(() => after(n).some((s) => s.verb === 'NDEATH'), { what: 'NDEATH' });
    const death = after(n).find((s) => s.verb === 'NDEATH')!;
    expect(death.p.seq).toBeUndefined();
    expect(death.p.metrics!.map((m) => m.name)).toEqual(['bdSeq']);
    expect(metric(death.p, 'bdSeq')).toMatchObject({ datatype: DataType.Int64, longValue: bdSeq });
    await waitFor(() => node.sessionPhase === 'waiting-host', { what: 'waiting again' });
    // events stored while the host is away stay in the outbox
    await outbox.append([draft('parcel.inducted', 9999)]);
    expect(outbox.stats().pending).toBe(1);
    const m = fromNode().length;
    stateTs = Date.now();
    await publishState(true, stateTs);
    await waitFor(() => after(m).some((s) => s.verb === 'NBIRTH'), { what: 'NBIRTH' });
    expect(metric(after(m)[0]!.p, 'bdSeq')!.longValue).toBe((bdSeq + 1) % 256);
    await waitFor(() => outbox.stats().pending === 0, { what: 'backlog sent after the birth' });
  });

  it('the node dies: the broker delivers its will, an NDEATH with the bdSeq of the session', async () => {
    const bdSeq = metric(last('NBIRTH')!.p, 'bdSeq')!.longValue!;
    const n = fromNode().length;
    await proxy.cut();
    await waitFor(() => after(n).some((s) => s.verb === 'NDEATH'), {
      timeoutMs: 10_000,
      what: 'will',
    });
    const will = after(n).find((s) => s.verb === 'NDEATH')!;
    expect(will.qos).toBe(1);
    expect(will.retain).toBe(false);
    expect(metric(will.p, 'bdSeq')!.longValue).toBe(bdSeq);
    await outbox.append([draft('parcel.inducted', 10_000)]);
    const m = fromNode().length;
    await proxy.restore();
    await waitFor(() => after(m).some((s) => s.verb === 'NDATA'), {
      timeoutMs: 10_000,
      what: 'data',
    });
    const verbs = after(m).map((s) => s.verb);
    expect(verbs.slice(0, 3)).toEqual(['NBIRTH', 'DBIRTH', 'DBIRTH']);
    // every CONNECT counts: the one through the cut proxy may have failed, so at least + 1
    expect(metric(after(m)[0]!.p, 'bdSeq')!.longValue).toBeGreaterThan(bdSeq);
  });

  it('a clean stop publishes an NDEATH before disconnecting', async () => {
    const n = fromNode().length;
    const bdSeq = metric(last('NBIRTH')!.p, 'bdSeq')!.longValue;
    await node.stop();
    await waitFor(() => after(n).some((s) => s.verb === 'NDEATH'), { what: 'NDEATH on stop' });
    expect(metric(after(n).find((s) => s.verb === 'NDEATH')!.p, 'bdSeq')!.longValue).toBe(bdSeq);
  });
});
