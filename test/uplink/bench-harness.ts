/** Shared pieces of the uplink benchmarks (test/bench/uplink.bench.ts, backlog.bench.ts). */
import { rmSync } from 'node:fs';
import { connectAsync } from 'mqtt';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { draft, openOutbox, tempDir, uplinkConfig } from './helpers.js';

export const PAYLOAD = {
  lineId: 'line-1',
  lane: 'inspection',
  ruleId: 'ct-suspect',
  reason: 'CT verdict suspect',
  code: 'RD223479072CN',
  weightG: 1234,
  ct: { reportId: 'ct-2026-000123', verdict: 'suspect', algorithm: '4.2.1' },
};

/** Raw mqtt.js: QoS 1, at most `window` in flight, same payload size as the envelope. */
export async function rawMqttRate(url: string, count: number, window = 100): Promise<number> {
  const client = await connectAsync(url, { clientId: `raw-${process.pid}`, clean: true });
  const body = JSON.stringify({
    schema: 1,
    id: '0190a0a0-0000-7000-8000-000000000001',
    seq: 1,
    payload: PAYLOAD,
    pad: 'x'.repeat(120),
  });
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const next = () => {
      while (sent < count && sent - acked < window) {
        sent++;
        client.publish('bench/raw', body, { qos: 1 }, (err) => {
          if (err) return reject(err);
          acked++;
          if (acked === count) resolve();
          else next();
        });
      }
    };
    next();
  });
  const rate = count / ((performance.now() - started) / 1000);
  await client.endAsync();
  return rate;
}

export interface Pipeline {
  outbox: Outbox;
  uplink: Uplink;
  close(): Promise<void>;
}

export function pipeline(url: string, startUplink = true): Pipeline {
  const dir = tempDir('bench-uplink-');
  const outbox = openOutbox(dir, { batchMaxRows: 1000, quickCheckOnStart: false });
  const uplink = new Uplink({
    config: uplinkConfig({
      url,
      protocolVersion: 5,
      inFlightWindow: Number(process.env.BENCH_WINDOW ?? 100),
    }),
    gatewayId: `gw-bench-${process.pid}`,
    site: 'bench',
    version: 'bench',
    startedAt: new Date().toISOString(),
    outbox,
    clock: systemClock,
    log: silentLogger(),
  });
  if (startUplink) uplink.start();
  return {
    outbox,
    uplink,
    async close() {
      await uplink.stop();
      outbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Engine-like live load: groups of 5 events (one parcel's worth) appended as fast as the pipeline
 * takes them (at most `maxPending` stored but unacknowledged), until `count` are acknowledged.
 * Returns acknowledged events per second, append -> SQLite (FULL) -> broker PUBACK.
 */
export async function liveRate(p: Pipeline, count: number, maxPending = 5000): Promise<number> {
  const types = [
    'parcel.inducted',
    'parcel.identified',
    'ct.verdict',
    'parcel.decided',
    'gate.fired',
  ];
  const startDelivered = p.outbox.stats().delivered;
  const started = performance.now();
  let appended = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const s = p.outbox.stats();
      if (s.delivered - startDelivered >= count) return resolve();
      let groups = 0;
      while (appended < count && s.pending + groups * 5 < maxPending && groups < 50) {
        void p.outbox.append(types.map((t, i) => draft(t, appended + i, PAYLOAD)));
        appended += 5;
        groups++;
      }
      setImmediate(tick);
    };
    tick();
  });
  return count / ((performance.now() - started) / 1000);
}
