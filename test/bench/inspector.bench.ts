/**
 * Inspector workstation figures: how long after the engine decides a CT suspect the officers'
 * live queue has it.
 * - inspector_flag_latency_p99_ms: `parcel.decided` (the engine's decision time, the event's
 *   `time`) -> the queue's server-sent `flag` message received by a client on a real socket,
 *   p99 over every CT suspect of the run. The simulated line runs at 20 parcels/s with 8 %
 *   suspect (5 m/s belt, 100-150 mm parcels), through the whole gateway (outbox FULL, the
 *   uplink to its embedded broker). This is the server side of "decided -> row visible": the
 *   browser's rendering (one Preact update) is not in it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { Gateway } from '../../edge/gateway.js';
import { silentLogger } from '../../edge/log.js';
import { freePort } from '../support/mosquitto.js';
import { openStream } from '../inspector/sse-client.js';
import { percentile, type Bench } from './figures.js';

const bench: Bench = async ({ quick }) => {
  const runS = quick ? 20 : 60;
  const dir = mkdtempSync(join(tmpdir(), 'bench-inspector-'));
  const doc = parse(
    readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
  );
  doc.dataDir = dir;
  doc.log = { level: 'silent', pretty: false };
  doc.http.port = 0;
  doc.http.users = [{ name: 'officer', role: 'inspector', password: 'officer-bench' }];
  doc.embeddedBroker.port = await freePort();
  doc.line.beltSpeedMmPerS = 5000;
  doc.inspector = { imageUrlTemplate: 'https://ct.local/view?img={imageId}' };
  Object.assign(doc.drivers[0], {
    parcelsPerMinute: 1200,
    parcelLengthMm: { min: 100, max: 150 },
    verdictDelayMs: { min: 20, max: 200 },
    suspectRate: 0.08,
    unknownRate: 0,
    lateVerdictRate: 0,
    missingVerdictRate: 0,
    seed: 16,
  });
  const config = new ConfigValidator(driverKindSchemas()).parse(doc);
  const gateway = new Gateway({
    config,
    log: silentLogger(),
    clock: systemClock,
    version: 'bench',
  });
  await gateway.start();
  const decided = new Map<string, EdgeEvent>();
  gateway.outbox!.onCommitted((events) => {
    for (const e of events)
      if (
        e.type === 'parcel.decided' &&
        e.payload.verdict === 'suspect' &&
        !decided.has(e.parcelId!)
      )
        decided.set(e.parcelId!, e);
  });
  const stream = await openStream(
    `${gateway.httpAddress!}/api/inspector/stream`,
    `Basic ${Buffer.from('officer:officer-bench').toString('base64')}`,
  );
  const seen = new Map<string, number>();
  stream.onMessage((m) => {
    if (m.event !== 'flag') return;
    const id = (m.data as { parcelId: string }).parcelId;
    if (!seen.has(id)) seen.set(id, m.receivedAt);
  });
  const started = Date.now();
  const decisionsBefore = gateway.runner?.decisions ?? 0;
  decided.clear(); // suspects decided before the stream was open do not count
  await new Promise((r) => setTimeout(r, runS * 1000));
  const inducted = (gateway.runner?.decisions ?? 0) - decisionsBefore;
  const endedAt = Date.now();
  // the suspects decided in the last moments still get their time to arrive
  await new Promise((r) => setTimeout(r, 2000));
  stream.close();
  await gateway.stop();
  rmSync(dir, { recursive: true, force: true });

  const latencies: number[] = [];
  let missed = 0;
  for (const [id, e] of decided) {
    if (Date.parse(e.time) > endedAt) continue;
    const at = seen.get(id);
    if (at === undefined) missed++;
    else latencies.push(at - Date.parse(e.time));
  }
  latencies.sort((a, b) => a - b);
  if (latencies.length === 0) throw new Error('no suspect reached the queue');
  const rate = inducted / ((endedAt - started) / 1000);
  const note = `${latencies.length} CT suspects of ${inducted} decided parcels in ${runS} s (${rate.toFixed(1)} parcels/s), ${missed} not seen before the end; decided event -> SSE flag message on a real socket (server side, no browser rendering)`;
  return {
    inspector_flag_latency_p99_ms: {
      value: Math.round(percentile(latencies, 0.99) * 10) / 10,
      unit: 'ms',
      note,
    },
    inspector_flag_latency_p50_ms: {
      value: Math.round(percentile(latencies, 0.5) * 10) / 10,
      unit: 'ms',
      note,
    },
  };
};

export default bench;
