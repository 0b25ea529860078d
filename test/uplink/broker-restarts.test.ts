import { rmSync } from 'node:fs';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { CommandRouter } from '../../edge/commands/router.js';
import type { EventEnvelope } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { signed, testCommandKeys } from '../support/command-signing.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { draft, openOutbox, tempDir, uplinkConfig } from './helpers.js';

/**
 * The broker is killed (SIGKILL) and restarted 20 times during a steady stream. Mosquitto keeps
 * its state in memory between autosaves, so a SIGKILL can lose messages it has already PUBACKed
 * (and the platform's subscription until it resubscribes): the platform, like the real one, sees
 * the gap in `seq` and asks for a replay. At the end every event has arrived, the live stream's
 * first deliveries are in order, and duplicates carry the same id.
 */
const RESTARTS = 20;
const BASE = 'customs/site-r/gw-restart';

describe('broker killed and restarted during a steady stream (real Mosquitto, MQTT 5)', () => {
  let broker: MosquittoProcess;
  let platform: MqttClient;
  let outbox: Outbox;
  let uplink: Uplink;
  let dir: string;
  let producer: NodeJS.Timeout | null = null;
  const firstLive: number[] = [];
  const ids = new Map<number, string>();
  let duplicates = 0;
  let replayed = 0;

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = tempDir('broker-restart-');
    outbox = openOutbox(dir);
    const config = uplinkConfig({
      url: broker.url,
      protocolVersion: 5,
      backoff: { initialMs: 150, maxMs: 600 },
      publishTimeoutMs: 3000,
      commands: {
        replayMinIntervalMs: 0,
        replayEventsPerS: 20_000,
        replayMaxEvents: 100_000,
        signing: { keys: testCommandKeys() },
      },
    });
    uplink = new Uplink({
      config,
      gatewayId: 'gw-restart',
      site: 'site-r',
      version: 'test',
      startedAt: new Date().toISOString(),
      outbox,
      clock: systemClock,
      log: silentLogger(),
    });
    new CommandRouter({
      transport: uplink,
      settings: config.commands,
      handlers: {},
      getConfig: () => ({}),
      lastSeq: () => outbox.stats().lastSeq,
      record: () => undefined,
      info: () => ({}),
      clock: systemClock,
      log: silentLogger(),
    }).start();
    platform = await connectAsync(broker.url, {
      clientId: 'platform-restart',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 20,
      connectTimeout: 2000,
    });
    platform.on('error', () => undefined);
    platform.on('message', (topic, payload) => {
      if (!topic.startsWith(`${BASE}/events/`)) return;
      const e = JSON.parse(payload.toString()) as EventEnvelope;
      const id = ids.get(e.seq);
      if (id !== undefined) {
        duplicates++;
        expect(id, `seq ${e.seq} re-sent with another id`).toBe(e.id);
        return;
      }
      ids.set(e.seq, e.id);
      if (e.replay) replayed++;
      else firstLive.push(e.seq);
    });
    await platform.subscribeAsync(`${BASE}/events/#`, { qos: 1 });
    uplink.start();
  });

  afterAll(async () => {
    if (producer) clearInterval(producer);
    await uplink?.stop();
    outbox?.close();
    await platform?.endAsync(true);
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`delivers every event across ${RESTARTS} broker kills`, async () => {
    let n = 0;
    producer = setInterval(() => {
      void outbox.append(
        Array.from({ length: 5 }, () => draft(n % 3 === 0 ? 'parcel.inducted' : 'ct.verdict', n++)),
      );
    }, 5);
    for (let i = 0; i < RESTARTS; i++) {
      const seen = ids.size;
      await waitFor(() => ids.size >= seen + 200, {
        timeoutMs: 30_000,
        what: `stream flowing before restart ${i}`,
      });
      await broker.restart();
    }
    await waitFor(() => ids.size >= n * 0.5, { timeoutMs: 30_000, what: 'flowing after restarts' });
    clearInterval(producer);
    producer = null;
    await waitFor(() => outbox.stats().pending === 0, { timeoutMs: 60_000, what: 'drained' });
    const last = outbox.stats().lastSeq;

    // the platform's gap repair: ask for each missing range (a broker that dies loses what it held)
    const missing = () => {
      const out: number[] = [];
      for (let s = 1; s <= last; s++) if (!ids.has(s)) out.push(s);
      return out;
    };
    let requests = 0;
    for (let round = 0; round < 5 && missing().length > 0; round++) {
      await waitFor(() => platform.connected, { what: 'platform connected' });
      const gaps = missing();
      requests++;
      await platform.publishAsync(
        `${BASE}/commands/replay`,
        // a large replay must be signed (role replay)
        signed(
          'replay',
          {
            schema: 1,
            id: `repair-${round}`,
            args: { fromSeq: gaps[0], toSeq: gaps.at(-1), maxEvents: 100_000 },
          },
          'site-r/gw-restart',
        ),
        { qos: 1 },
      );
      await waitFor(() => missing().length === 0, { timeoutMs: 20_000 }).catch(() => undefined);
    }
    const lost = missing();
    console.log(
      `broker-restarts: ${last} events, ${uplink.health().connects} connects, ${duplicates} duplicates, ` +
        `${replayed} recovered by ${requests} replay request(s)`,
    );
    expect(lost).toEqual([]);
    // first live deliveries in order (replays fill gaps later, flagged replay: true)
    for (let i = 1; i < firstLive.length; i++) {
      expect(firstLive[i]!).toBeGreaterThan(firstLive[i - 1]!);
    }
    expect(uplink.health().connects).toBeGreaterThanOrEqual(RESTARTS + 1);
  }, 170_000);
});
