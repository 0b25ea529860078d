import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { runFleet } from './fleet.js';

/**
 * A small fleet (the real outbox + uplink + command router per gateway, each its own SQLite file
 * and client id) and a consumer group on an MQTT 5 shared subscription across a broker restart:
 * every gateway comes back, and after dedupe and the platform's replay of what the restart cost,
 * the group holds every seq of every gateway. The 200-gateway run with the default backoff and
 * its reconnect curve is test/bench/fleet.bench.ts.
 */
describe('fleet of gateways, consumer group, broker restart (real Mosquitto)', () => {
  let broker: MosquittoProcess;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('every gateway reconnects and the consumer group ends with no gap', async () => {
    const r = await runFleet({
      url: broker.url,
      gateways: 12,
      consumers: 3,
      burst: 50,
      steadyPerS: 5,
      backoff: { initialMs: 100, maxMs: 2000, spreadMs: 1000 },
      restart: async () => {
        await broker.stop();
        await broker.start();
      },
      timeoutMs: 60_000,
    });
    expect(r.reconnectS).toHaveLength(12);
    expect(r.eventsChecked).toBeGreaterThan(12 * 50);
    expect(r.gaps, r.missing.join('; ')).toBe(0);
    // replays were asked for exactly the gateways that had a gap
    expect(r.replays).toBeLessThanOrEqual(12);
    if (r.gapsBeforeReplay === 0) expect(r.replays).toBe(0);
  }, 120_000);
});
