import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connectAsync, type MqttClient } from 'mqtt';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import { Outbox } from '../../edge/outbox/outbox.js';
import { CommandRouter } from '../../edge/commands/router.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { percentile } from '../bench/figures.js';
import { tempDir, uplinkConfig } from '../uplink/helpers.js';

/**
 * A fleet of gateway uplinks against one broker (or a cluster behind one URL), and the platform's
 * consumer group. Every gateway is the real code: its own SQLite outbox file (synchronous FULL)
 * and its own Uplink (MQTT 5, persistent session, client id = gateway id, QoS 1, retained status
 * + last will, the default reconnect backoff unless told otherwise); they share one process, so
 * N is bounded by the machine's CPU, not by anything in the gateway. The consumer group is K
 * clients on the MQTT 5 shared subscription `$share/<group>/<root>/+/+/events/#` with persistent
 * sessions; it dedupes by event id and checks every gateway's `seq` for gaps.
 *
 *   1. throughput: every gateway appends `burst` events at once; the consumer group's rate until
 *      it has them all is fleet_events_per_s;
 *   2. broker restart: while every gateway produces `steadyPerS` events/s, the broker restarts
 *      (`restart()`); each gateway's first connect after it gives the reconnect curve (seconds
 *      after the restart began); production goes on until all are back, then every outbox
 *      drains; the platform sees which seqs it is missing (gapsBeforeReplay), asks those gateways
 *      for a `replay` (their real command router), and must then hold every seq of every gateway
 *      exactly once after dedupe (fleet_gaps).
 */
export interface FleetOptions {
  url: string;
  gateways: number;
  consumers: number;
  burst: number;
  steadyPerS: number;
  /** restarts the broker (or one cluster node); resolves when it accepts connections again */
  restart: () => Promise<void>;
  /** uplink.backoff (default: the configuration's defaults) */
  backoff?: { initialMs?: number; maxMs?: number; spreadMs?: number };
  topicRoot?: string;
  /**
   * clean (default): the consumers start clean on every connect and subscribe again; persistent:
   * MQTT 5 sessions that outlive a disconnect (Mosquitto 2.0.11 restores them after a restart
   * but not their shared subscriptions, see docs/platform.md)
   */
  consumerSessions?: 'clean' | 'persistent';
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface FleetResult {
  gateways: number;
  consumers: number;
  burstEvents: number;
  eventsPerS: number;
  reconnectS: number[];
  reconnectSpreadS: number;
  reconnectCurve: number[];
  restartS: number;
  /** seqs missing at the consumer group once everything was delivered, before any replay */
  gapsBeforeReplay: number;
  /** replay commands the platform sent to repair them */
  replays: number;
  /** seqs still missing after the replays (the figure that must be 0) */
  gaps: number;
  /** the first missing seqs (gateway id: seqs), for diagnosis */
  missing: string[];
  /** seq of each gateway's last event before the restart */
  seqAtRestart: number;
  duplicates: number;
  eventsChecked: number;
  rssMb: number;
}

interface Gateway {
  id: string;
  outbox: Outbox;
  uplink: Uplink;
  router: CommandRouter;
  connects: number[];
}

interface Consumed {
  seqs: Set<number>;
  ids: Set<string>;
}

async function until(
  cond: () => boolean,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`fleet: timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  const log = o.log ?? (() => undefined);
  const root = o.topicRoot ?? 'fleet';
  const timeoutMs = o.timeoutMs ?? 180_000;
  const dir = tempDir('fleet-');
  const consumed = new Map<string, Consumed>();
  let received = 0;
  let duplicates = 0;
  const consumers: MqttClient[] = [];
  const gateways: Gateway[] = [];
  let producer: NodeJS.Timeout | null = null;
  try {
    for (let c = 0; c < o.consumers; c++) {
      const client = await connectAsync(o.url, {
        clientId: `${root}-platform-${c}`,
        protocolVersion: 5,
        clean: o.consumerSessions !== 'persistent',
        ...(o.consumerSessions === 'persistent'
          ? { properties: { sessionExpiryInterval: 3600 } }
          : {}),
        reconnectPeriod: 500,
      });
      // Mosquitto 2.0 restores a persistent session after a restart but not its shared
      // subscriptions: the consumer subscribes again on every connect (idempotent otherwise)
      client.on('connect', (connack) => {
        log(`fleet: consumer ${c} connected (session present ${connack.sessionPresent})`);
        client.subscribe(`$share/platform/${root}/+/+/events/#`, { qos: 1 });
      });
      client.on('close', () => log(`fleet: consumer ${c} disconnected`));
      client.on('message', (_topic, payload) => {
        const e = JSON.parse(payload.toString()) as { gatewayId: string; seq: number; id: string };
        received++;
        let g = consumed.get(e.gatewayId);
        if (!g) consumed.set(e.gatewayId, (g = { seqs: new Set(), ids: new Set() }));
        if (g.ids.has(e.id)) duplicates++;
        g.ids.add(e.id);
        g.seqs.add(e.seq);
      });
      await client.subscribeAsync(`$share/platform/${root}/+/+/events/#`, { qos: 1 });
      consumers.push(client);
    }
    const config = uplinkConfig({
      url: o.url,
      protocolVersion: 5,
      topicRoot: root,
      ...(o.backoff ? { backoff: o.backoff } : {}),
    });
    const startedAt = new Date().toISOString();
    for (let i = 0; i < o.gateways; i++) {
      const id = `${root}-gw-${String(i).padStart(4, '0')}`;
      const gwDir = join(dir, id);
      mkdirSync(gwDir);
      const outbox = new Outbox({
        file: join(gwDir, 'outbox.sqlite'),
        gatewayId: id,
        synchronous: 'FULL',
        batchMaxRows: 500,
        quickCheckOnStart: false,
        clock: systemClock,
        log: silentLogger(),
      });
      const uplink = new Uplink({
        config,
        gatewayId: id,
        site: `site-${i % 10}`,
        version: 'fleet',
        startedAt,
        outbox,
        clock: systemClock,
        log: silentLogger(),
      });
      // the real command router: the platform repairs a gap with the `replay` command
      const router = new CommandRouter({
        transport: uplink,
        settings: config.commands,
        handlers: {},
        getConfig: () => ({}),
        lastSeq: () => outbox.stats().lastSeq,
        record: (drafts) => void outbox.append(drafts).catch(() => undefined),
        info: () => ({ gatewayId: id }),
        clock: systemClock,
        log: silentLogger(),
      });
      router.start();
      const g: Gateway = { id, outbox, uplink, router, connects: [] };
      uplink.onConnected(() => g.connects.push(performance.now()));
      gateways.push(g);
      uplink.start();
    }
    await until(() => gateways.every((g) => g.uplink.connected), timeoutMs, 'all connected');
    log(`fleet: ${o.gateways} gateways connected, ${o.consumers} consumers`);

    const append = (g: Gateway, n: number) =>
      g.outbox.append(
        Array.from({ length: n }, (_, k) => ({
          type: 'parcel.decided',
          parcelId: `p-${k}`,
          atMono: systemClock.monoMs(),
          payload: { lineId: g.id, lane: 'inspection', outlet: 'inspection', ruleId: 'ct' },
        })),
      );

    // 1. throughput at the consumer group
    const before = received;
    const t0 = performance.now();
    await Promise.all(gateways.map((g) => append(g, o.burst)));
    const burstEvents = o.burst * o.gateways;
    await until(() => received - before >= burstEvents, timeoutMs, 'burst consumed', 5);
    const eventsPerS = burstEvents / ((performance.now() - t0) / 1000);
    log(`fleet: burst ${burstEvents} events at ${Math.round(eventsPerS)}/s`);

    // 2. broker restart under a steady load
    const periodMs = 100;
    let carry = 0;
    producer = setInterval(() => {
      carry += (o.steadyPerS * periodMs) / 1000;
      const n = Math.floor(carry);
      carry -= n;
      if (n > 0) for (const g of gateways) void append(g, n).catch(() => undefined);
    }, periodMs);
    await new Promise((r) => setTimeout(r, 2000));
    const seqAtRestart = gateways[0]!.outbox.stats().lastSeq;
    const restartAt = performance.now();
    for (const g of gateways) g.connects.length = 0;
    await o.restart();
    const restartS = (performance.now() - restartAt) / 1000;
    log(`fleet: broker back after ${restartS.toFixed(1)} s`);
    await until(() => gateways.every((g) => g.connects.length > 0), timeoutMs, 'all reconnected');
    const reconnectS = gateways
      .map((g) => (g.connects[0]! - restartAt) / 1000)
      .sort((a, b) => a - b);
    await new Promise((r) => setTimeout(r, 2000));
    clearInterval(producer);
    producer = null;
    // everything stored is delivered, and the consumer group has every seq of every gateway
    await until(
      () => gateways.every((g) => g.outbox.stats().pending === 0),
      timeoutMs,
      'outboxes drained',
    );
    // the platform: wait until nothing more arrives, then ask each gateway with a gap for a replay
    const lostOf = (g: Gateway) => {
      const seqs = consumed.get(g.id)?.seqs ?? new Set<number>();
      const lost: number[] = [];
      for (let s = 1; s <= g.outbox.stats().lastSeq; s++) if (!seqs.has(s)) lost.push(s);
      return lost;
    };
    let quietSince = received;
    await until(
      () => {
        const idle = received === quietSince;
        quietSince = received;
        return idle;
      },
      timeoutMs,
      'consumer group idle',
      1000,
    );
    const gapsBeforeReplay = gateways.reduce((n, g) => n + lostOf(g).length, 0);
    let replays = 0;
    const missing: string[] = [];
    if (gapsBeforeReplay > 0) {
      const platform = await connectAsync(o.url, {
        clientId: `${root}-platform-cmd`,
        protocolVersion: 5,
      });
      for (const g of gateways) {
        const lost = lostOf(g);
        if (lost.length === 0) continue;
        if (missing.length < 5)
          missing.push(`${g.id}: ${lost.slice(0, 5).join(',')} of ${g.outbox.stats().lastSeq}`);
        replays++;
        await platform.publishAsync(
          `${g.uplink.topics.command('replay')}`,
          JSON.stringify({
            schema: 1,
            id: `replay-${g.id}-${replays}`,
            args: { stream: 'events', fromSeq: lost[0], toSeq: lost.at(-1) },
          }),
          { qos: 1 },
        );
      }
      await until(
        () => gateways.every((g) => lostOf(g).length === 0),
        Math.min(timeoutMs, 60_000),
        'gaps repaired by replay',
      ).catch(() => undefined);
      await platform.endAsync();
    }
    let gaps = 0;
    let eventsChecked = 0;
    for (const g of gateways) {
      gaps += lostOf(g).length;
      eventsChecked += g.outbox.stats().lastSeq;
    }
    const maxS = Math.ceil(reconnectS.at(-1) ?? 0);
    const reconnectCurve = Array.from({ length: maxS }, () => 0);
    for (const s of reconnectS) reconnectCurve[Math.min(maxS - 1, Math.floor(s))]!++;
    return {
      gateways: o.gateways,
      consumers: o.consumers,
      burstEvents,
      eventsPerS,
      reconnectS,
      reconnectSpreadS: percentile(reconnectS, 0.9) - percentile(reconnectS, 0.1),
      reconnectCurve,
      restartS,
      gapsBeforeReplay,
      replays,
      gaps,
      missing,
      seqAtRestart,
      duplicates,
      eventsChecked,
      rssMb: Math.round(process.memoryUsage().rss / 1e6),
    };
  } finally {
    if (producer) clearInterval(producer);
    for (const g of gateways) g.router.stop();
    await Promise.all(gateways.map((g) => g.uplink.stop().catch(() => undefined)));
    for (const g of gateways) g.outbox.close();
    await Promise.all(consumers.map((c) => c.endAsync(true).catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}
