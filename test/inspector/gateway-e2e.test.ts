import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { openStream, type StreamClient } from './sse-client.js';

/**
 * The inspector workstation in the whole gateway: the simulated line, the HTTP server on a real
 * socket, the uplink to a real Mosquitto. A CT suspect reaches the officers' live queue within a
 * second of its `parcel.decided` event; the second officer sees who has it open; the decision
 * reaches the platform's MQTT subscriber.
 */
const BASE = 'customs/demo-site/gw-demo-01';
const OFFICERS = {
  li: { name: 'officer-li', role: 'inspector', password: 'officer-li-secret' },
  wang: { name: 'officer-wang', role: 'inspector', password: 'officer-wang-secret' },
} as const;
const basic = (o: keyof typeof OFFICERS) =>
  `Basic ${Buffer.from(`${OFFICERS[o].name}:${OFFICERS[o].password}`).toString('base64')}`;

describe('inspector workstation end to end (simulated line, real Mosquitto)', () => {
  let broker: MosquittoProcess;
  let platform: MqttClient;
  let gateway: Gateway;
  let dir: string;
  const platformEvents: EdgeEvent[] = [];
  const decidedAt = new Map<string, EdgeEvent>();
  const streams: StreamClient[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = mkdtempSync(join(tmpdir(), 'edge-inspector-e2e-'));
    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    doc.dataDir = dir;
    doc.log = { level: 'silent', pretty: false };
    doc.http.port = 0;
    doc.http.users = Object.values(OFFICERS);
    doc.embeddedBroker.enabled = false;
    doc.uplink.url = broker.url;
    doc.inspector = { imageUrlTemplate: 'https://ct.local/view?img={imageId}' };
    Object.assign(doc.drivers[0], { parcelsPerMinute: 120, seed: 11, suspectRate: 0.3 });
    const config = new ConfigValidator(driverKindSchemas()).parse(doc);
    platform = await connectAsync(broker.url, { clientId: 'platform', clean: true });
    platform.on('message', (_topic, payload) => {
      platformEvents.push(JSON.parse(payload.toString()) as EdgeEvent);
    });
    await platform.subscribeAsync(`${BASE}/events/#`, { qos: 1 });
    gateway = new Gateway({ config, log: silentLogger(), clock: systemClock, version: 't' });
    await gateway.start();
    gateway.outbox!.onCommitted((events) => {
      for (const e of events) if (e.type === 'parcel.decided') decidedAt.set(e.parcelId!, e);
    });
  }, 60_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    await gateway?.stop();
    await platform?.endAsync();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a suspect is in both officers’ live queues within a second; the decision reaches the platform', async () => {
    const url = `${gateway.httpAddress!}/api/inspector/stream`;
    const li = await openStream(url, basic('li'));
    const wang = await openStream(url, basic('wang'));
    streams.push(li, wang);
    expect(li.events[0]?.event).toBe('snapshot');

    // the first CT suspect decided after both streams were open
    const since = Date.now();
    const alert = await waitFor(
      () => li.events.find((m) => m.event === 'alert' && m.receivedAt >= since),
      { timeoutMs: 30_000, what: 'an alert for a new suspect' },
    );
    const flag = alert.data as {
      parcelId: string;
      reasons: string[];
      imageUrl: string;
      imageId: string;
    };
    expect(flag.reasons).toContain('ct-suspect');
    expect(flag.imageUrl).toBe(`https://ct.local/view?img=${encodeURIComponent(flag.imageId)}`);
    const decided = decidedAt.get(flag.parcelId)!;
    expect(decided.payload).toMatchObject({ lane: 'inspection', verdict: 'suspect' });
    const firstRow = li.events.find(
      (m) => m.event === 'flag' && (m.data as { parcelId: string }).parcelId === flag.parcelId,
    )!;
    expect(firstRow.receivedAt - Date.parse(decided.time)).toBeLessThan(1000);
    await waitFor(() =>
      wang.events.find(
        (m) => m.event === 'alert' && (m.data as { parcelId: string }).parcelId === flag.parcelId,
      ),
    );

    // officer Li opens it; officer Wang's queue shows it taken
    const claim = await fetch(
      `${gateway.httpAddress!}/api/inspector/parcels/${flag.parcelId}/claim`,
      { method: 'POST', headers: { authorization: basic('li') } },
    );
    expect(claim.status).toBe(200);
    await waitFor(
      () =>
        wang.events.find(
          (m) =>
            m.event === 'flag' &&
            (m.data as { parcelId: string; openedBy: { officer: string } | null }).parcelId ===
              flag.parcelId &&
            (m.data as { openedBy: { officer: string } | null }).openedBy?.officer === 'officer-li',
        ),
      { what: 'the second officer sees the parcel taken' },
    );

    const res = await fetch(
      `${gateway.httpAddress!}/api/inspector/parcels/${flag.parcelId}/decision`,
      {
        method: 'POST',
        headers: { authorization: basic('li'), 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'seize', note: '疑似管制刀具' }),
      },
    );
    expect(res.status).toBe(201);
    const { decision } = (await res.json()) as { decision: { id: string } };
    const published = await waitFor(
      () =>
        platformEvents.find((e) => e.type === 'inspector.decision' && e.payload.id === decision.id),
      { timeoutMs: 15_000, what: 'the decision on MQTT' },
    );
    expect(published).toMatchObject({
      parcelId: flag.parcelId,
      payload: { action: 'seize', officer: 'officer-li', note: '疑似管制刀具' },
    });
    await waitFor(() =>
      platformEvents.find(
        (e) =>
          e.type === 'audit' &&
          e.payload.action === 'inspector.decision' &&
          e.payload.decisionId === decision.id,
      ),
    );
    // both queues show it decided
    await waitFor(() =>
      wang.events.find(
        (m) =>
          m.event === 'flag' &&
          (m.data as { parcelId: string; status: string }).parcelId === flag.parcelId &&
          (m.data as { status: string }).status === 'decided',
      ),
    );
  }, 60_000);
});
