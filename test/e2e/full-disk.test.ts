import { readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';
import type { OutboxCondition, OutboxStats } from '../../edge/outbox/outbox.js';
import type { DropRange } from '../../edge/outbox/quota.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from '../support/tmpfs.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 14: a full disk must never silently stop the record. The gateway runs the simulated line
 * at 50 parcels/s with its data folder on an 8 MiB tmpfs, publishing to a real Mosquitto.
 * - Broker down until the disk is full, then up: the line keeps deciding, lastSeq keeps rising,
 *   health and the stack light say degraded (with the reason) while events are dropped, every
 *   event reaches the platform or lies inside an announced drop range, the outbox drains and
 *   health comes back to ok.
 * - Broker up with a 30-day retention of delivered rows and the default 512 MiB quota (larger
 *   than the disk): delivered rows make room, nothing undelivered is ever dropped, no seq gap.
 */

const unavailable = smallDiskUnavailable();
if (unavailable) console.warn(`full-disk tests skipped: ${unavailable}`);

const BASE = 'customs/demo-site/gw-demo-01';

function config(dataDir: string, brokerUrl: string, outbox: Record<string, unknown>) {
  const doc = parse(
    readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
  ) as Record<string, any>;
  doc.dataDir = dataDir;
  doc.log = { level: 'silent', pretty: false };
  doc.http.port = 0;
  doc.http.users = [{ name: 'viewer', role: 'viewer', password: 'viewer-password' }];
  doc.embeddedBroker.enabled = false;
  doc.uplink.url = brokerUrl;
  doc.uplink.protocolVersion = 5;
  doc.uplink.backoff = { initialMs: 100, maxMs: 500 };
  doc.uplink.telemetry = { intervalMs: 2000, qos: 1 };
  doc.outbox = {
    ...doc.outbox,
    diskCheckIntervalMs: 500,
    degradedHoldMs: 3000,
    stuckAfterMs: 5000,
    ...outbox,
  };
  doc.line.beltSpeedMmPerS = 5000;
  // >= 40 mm between parcels (below); the late-fire bound: 8 ms late at 5 m/s is 40 mm
  doc.line.minGapMm = 40;
  doc.gates.maxLateMs = 8;
  Object.assign(doc.drivers[0], {
    // 50 parcels/s: a pitch of 100 mm at 5 m/s, parcels short enough not to touch
    parcelsPerMinute: 3000,
    parcelLengthMm: { min: 50, max: 60 },
    verdictDelayMs: { min: 20, max: 200 },
    seed: 14,
  });
  return new ConfigValidator(driverKindSchemas()).parse(doc);
}

/** The platform: every event by stream and seq, and every announced drop range. */
class Platform {
  readonly seen = { events: new Map<number, string>(), telemetry: new Map<number, string>() };
  readonly ranges: DropRange[] = [];
  client: MqttClient | null = null;

  async connect(url: string): Promise<void> {
    this.client = await connectAsync(url, {
      clientId: 'platform-full-disk',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 100,
    });
    this.client.on('error', () => undefined);
    this.client.on('message', (topic, payload) => {
      if (!topic.startsWith(`${BASE}/events/`) && topic !== `${BASE}/telemetry`) return;
      const e = JSON.parse(payload.toString()) as EdgeEvent;
      const seen = this.seen[e.stream ?? 'events'];
      const id = seen.get(e.seq);
      if (id !== undefined && id !== e.id) throw new Error(`seq ${e.seq} reused`);
      seen.set(e.seq, e.id);
      if (e.type === 'outbox.dropped') {
        this.ranges.push(...(e.payload as { ranges: DropRange[] }).ranges);
      }
    });
    await this.client.subscribeAsync(`${BASE}/#`, { qos: 1 });
  }

  /** Seqs 1..last of a stream neither received nor inside an announced drop range. */
  unexplained(stream: 'events' | 'telemetry', last: number): number[] {
    const ranges = this.ranges.filter((r) => r.stream === stream);
    const out: number[] = [];
    for (let seq = 1; seq <= last; seq++) {
      if (this.seen[stream].has(seq)) continue;
      if (ranges.some((r) => r.fromSeq <= seq && seq <= r.toSeq)) continue;
      out.push(seq);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client?.endAsync();
  }
}

interface Health {
  status: string;
  outbox: OutboxStats & { condition: OutboxCondition };
  engine: { decisions: number };
  stackLight: { condition: { alarm: string | null } | null };
}

const health = (g: Gateway) => g.health() as unknown as Health;

/** what fills the disk (for a timeout's message) */
function filesIn(dir: string): string {
  return readdirSync(dir)
    .map((f) => `${f} ${statSync(join(dir, f)).size}`)
    .join(', ');
}

/** the parts of a health snapshot that keep it from ok (for a timeout's message) */
function unhealthyParts(g: Gateway): Record<string, unknown> {
  const h = g.health();
  return {
    status: h.status,
    line: h.line,
    drivers: h.drivers.filter((d) => d.state !== 'running').map((d) => [d.id, d.state]),
    record: 'condition' in h.outbox ? h.outbox.condition : null,
    uplink: 'state' in h.uplink ? h.uplink.state : null,
    replyStore: h.commands?.replyStore,
    plcHandOff: h.plcHandOff.state,
    outbox: 'pending' in h.outbox ? { ...h.outbox, condition: undefined } : null,
  };
}

describe.skipIf(unavailable !== null)('a full disk never silently stops the record', () => {
  let disk: SmallDisk | null = null;
  let broker: MosquittoProcess | null = null;
  let gateway: Gateway | null = null;
  let platform: Platform | null = null;

  afterEach(async () => {
    await gateway?.stop();
    await platform?.close();
    await broker?.stop();
    disk?.unmount();
    gateway = null;
    platform = null;
    broker = null;
    disk = null;
  });
  afterAll(() => disk?.unmount());

  it('broker down until the disk is full, then up: every event delivered or announced as dropped, degraded and back', async () => {
    disk = mountSmallDisk('8m');
    broker = await startMosquitto();
    platform = new Platform();
    await platform.connect(broker.url);
    await broker.stop(); // the platform's session (and subscription) survive in its persistence
    gateway = new Gateway({
      config: config(disk.dir, broker.url, {}),
      log: silentLogger(),
      clock: systemClock,
      version: 'test',
    });
    await gateway.start();
    const g = gateway;

    // the disk fills: the outbox's limit comes from the disk and undelivered events are dropped
    const statuses = new Set<string>();
    const full = await waitFor(
      () => {
        const h = health(g);
        statuses.add(h.status);
        return h.outbox.limitBy === 'disk' &&
          h.outbox.dropped.records + h.outbox.dropped.operational > 0
          ? h
          : null;
      },
      { timeoutMs: 240_000, intervalMs: 200, what: 'the disk to fill' },
    );
    expect(full.outbox.condition.state).toBe('degraded');
    expect(full.outbox.condition.reasons.map((r) => r.code)).toContain('dropping');
    expect(full.status).toBe('degraded');
    // the stack light shows it (red: events are being lost), with the reason
    await waitFor(() => /^outbox: /.test(health(g).stackLight.condition?.alarm ?? ''), {
      what: 'stack light alarm',
    });
    // the record goes on while the disk is full: decisions and seqs keep coming
    const before = health(g);
    await waitFor(
      () => {
        const h = health(g);
        return h.engine.decisions > before.engine.decisions + 300 &&
          h.outbox.lastSeq > before.outbox.lastSeq + 1500
          ? h
          : null;
      },
      { timeoutMs: 60_000, what: 'decisions and seqs while the disk is full' },
    );
    const fs = statfsSync(disk.dir);
    expect(fs.bavail * fs.bsize).toBeGreaterThan(0); // the outbox never took the last block

    // the broker comes back: the outbox drains, health comes back
    await broker.start();
    await waitFor(() => health(g).status === 'ok', {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: () =>
        `health ok again (last: ${JSON.stringify(unhealthyParts(g))}) files ${filesIn(disk!.dir)}}`,
    });
    // the line stops; everything left drains
    const sim = g.drivers.find((d) => d.id === 'sim-line')!;
    await sim.stop();
    const last = await waitFor(
      () => {
        const s = health(g).outbox;
        if (s.pending > 0) return null;
        const p = platform!;
        return p.seen.events.has(s.lastSeq) && p.seen.telemetry.has(s.lastTelemetrySeq) ? s : null;
      },
      { timeoutMs: 60_000, what: 'outbox drained' },
    );
    await waitFor(() => health(g).outbox.pending === 0, { what: 'drained' });
    expect(statuses).toContain('degraded');
    expect(last.dropped.records).toBeGreaterThan(0);
    // every event reached the platform or lies in an announced drop range
    expect(platform.unexplained('events', last.lastSeq)).toEqual([]);
    expect(platform.unexplained('telemetry', last.lastTelemetrySeq)).toEqual([]);
    expect(platform.seen.events.size).toBeGreaterThan(1000);
  }, 420_000);

  it('broker up with a long retention: delivered rows make room, nothing undelivered is dropped', async () => {
    disk = mountSmallDisk('8m');
    broker = await startMosquitto();
    platform = new Platform();
    await platform.connect(broker.url);
    gateway = new Gateway({
      // the defaults that filled the disk before: 512 MiB quota, here 30 days of delivered rows
      config: config(disk.dir, broker.url, { deliveredRetentionS: 30 * 86400 }),
      log: silentLogger(),
      clock: systemClock,
      version: 'test',
    });
    await gateway.start();
    const g = gateway;
    const degraded: string[] = [];
    // delivered rows fill the disk, then the oldest of them go to make room
    await waitFor(
      () => {
        const h = health(g);
        if (h.outbox.condition.state !== 'ok') degraded.push(JSON.stringify(h.outbox.condition));
        return h.outbox.limitBy === 'disk' &&
          h.outbox.delivered + h.outbox.pending < h.outbox.lastSeq - 2000
          ? h
          : null;
      },
      { timeoutMs: 240_000, intervalMs: 200, what: 'delivered rows to fill the disk' },
    );
    const sim = g.drivers.find((d) => d.id === 'sim-line')!;
    await sim.stop();
    const last = await waitFor(
      () => {
        const s = health(g).outbox;
        return s.pending === 0 && platform!.seen.events.has(s.lastSeq) ? s : null;
      },
      { timeoutMs: 60_000, what: 'outbox drained' },
    );
    expect(last.dropped).toEqual({ telemetry: 0, operational: 0, records: 0 });
    expect(degraded).toEqual([]);
    expect(platform.ranges).toEqual([]);
    expect(platform.unexplained('events', last.lastSeq)).toEqual([]);
    const fs = statfsSync(disk.dir);
    expect(fs.bavail * fs.bsize).toBeGreaterThanOrEqual(last.disk.reserveBytes * 0.5);
  }, 420_000);
});
