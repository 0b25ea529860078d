import { rmSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { UplinkConfig } from '../../config/schema.js';
import { systemClock } from '../../edge/clock.js';
import type { EventEnvelope } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { SCHEMA_DDL } from '../../edge/outbox/store.js';
import { UplinkOversizeAlarmSchema } from '../../edge/uplink/packet-size.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { draft, openOutbox, tempDir, uplinkConfig } from './helpers.js';

/**
 * An event larger than the broker's Maximum Packet Size (Mosquitto `max_packet_size`, announced
 * in the MQTT 5 CONNACK, or configured for MQTT 3.1.1) is parked with an alarm event instead of
 * being sent (which would get the connection dropped, again and again): the rest of the stream
 * flows in order, the connection stays up, the row stays on disk, and a replay sends it later.
 */

const validateAlarm = new AjvModule.default({ strict: false }).compile(UplinkOversizeAlarmSchema);
const LIMIT = 65_536;
const BIG = 'x'.repeat(1_048_576);

const brokers: MosquittoProcess[] = [];
const clients: MqttClient[] = [];
const dirs: string[] = [];
const uplinks: Uplink[] = [];
const outboxes: Outbox[] = [];

async function broker(extraConfig: string[] = []): Promise<MosquittoProcess> {
  const b = await startMosquitto({ extraConfig });
  brokers.push(b);
  return b;
}

function uplink(outbox: Outbox, config: UplinkConfig): Uplink {
  const u = new Uplink({
    config,
    gatewayId: 'gw-big',
    site: 'site-t',
    version: '1.0.0',
    startedAt: '2026-01-01T00:00:00.000Z',
    outbox,
    clock: systemClock,
    log: silentLogger(),
  });
  uplinks.push(u);
  return u;
}

function outboxIn(dir: string): Outbox {
  const o = openOutbox(dir);
  outboxes.push(o);
  return o;
}

async function subscriber(url: string, protocolVersion: 4 | 5) {
  const client = await connectAsync(url, { clean: true, protocolVersion });
  clients.push(client);
  const events: EventEnvelope[] = [];
  const replies: Record<string, unknown>[] = [];
  client.on('message', (topic, payload) => {
    const msg = JSON.parse(payload.toString()) as Record<string, unknown>;
    if (topic.includes('/replies/')) replies.push(msg);
    else if (!topic.endsWith('/status')) events.push(msg as unknown as EventEnvelope);
  });
  await client.subscribeAsync(['customs/site-t/#', 'platform/#'], { qos: 1 });
  return { client, events, replies };
}

/** 5 small, one 1 MB event, 5 small; plus a small and a 1 MB telemetry sample. */
async function appendStream(outbox: Outbox): Promise<void> {
  const small = (i: number) => draft('parcel.inducted', i);
  await outbox.append([small(1), small(2), small(3), small(4), small(5)]);
  await outbox.append([draft('ct.image', 6, { blob: BIG }), draft('telemetry', 0, { blob: BIG })]);
  await outbox.append([small(7), small(8), small(9), small(10), small(11)]);
  await outbox.append([draft('telemetry', 1, { cpu: 3 })]);
}

afterEach(async () => {
  for (const u of uplinks.splice(0)) await u.stop();
  for (const o of outboxes.splice(0)) o.close();
  for (const c of clients.splice(0)) await c.endAsync(true);
});

afterAll(async () => {
  for (const b of brokers) await b.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function expectStreamParked(sub: { events: EventEnvelope[] }, u: Uplink, outbox: Outbox): void {
  const events = sub.events.filter((e) => e.stream === 'events');
  expect(events.slice(0, 10).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10, 11]);
  const alarm = events.find((e) => e.type === 'alarm.uplink-oversize');
  expect(alarm?.payload).toMatchObject({
    stream: 'events',
    seq: 6,
    type: 'ct.image',
    limit: LIMIT,
  });
  expect(alarm?.payload.bytes).toBeGreaterThan(1_048_576);
  expect(validateAlarm(alarm?.payload), 'alarm payload matches the AsyncAPI schema').toBe(true);
  expect(events.some((e) => e.seq === 6)).toBe(false);
  const telemetry = sub.events.filter((e) => e.stream === 'telemetry');
  expect(telemetry.map((e) => e.seq)).toEqual([2]);
  const h = u.health();
  expect(h).toMatchObject({
    connects: 1,
    disconnects: 0,
    maxPacketBytes: LIMIT,
    parkedOversize: 1,
    telemetryDroppedOversize: 1,
  });
  const stats = outbox.stats();
  expect(stats.parked).toBe(2);
  expect(stats.pending).toBe(0);
  const [row] = outbox.range('events', 6, 6, 1);
  expect(row).toMatchObject({ seq: 6, type: 'ct.image', parked: true });
  expect(row!.payloadJson.length).toBeGreaterThan(1_048_576);
}

describe('uplink: maximum packet size (real Mosquitto, max_packet_size 64 KB)', () => {
  it('MQTT 5: the CONNACK limit parks a 1 MB event with an alarm; the stream flows; a replay sends it once the limit grows', async () => {
    const limited = await broker([`max_packet_size ${LIMIT}`]);
    const sub = await subscriber(limited.url, 5);
    const dir = tempDir('oversize-');
    dirs.push(dir);
    let outbox = outboxIn(dir);
    await appendStream(outbox);
    const u = uplink(outbox, uplinkConfig({ url: limited.url, protocolVersion: 5 }));
    u.start();
    await waitFor(
      () =>
        sub.events.some((e) => e.type === 'alarm.uplink-oversize') &&
        sub.events.filter((e) => e.stream === 'events').length >= 11 &&
        sub.events.some((e) => e.stream === 'telemetry') &&
        outbox.stats().pending === 0,
      { timeoutMs: 20_000, what: 'small events, telemetry and the alarm' },
    );
    expectStreamParked(sub, u, outbox);

    // a command reply larger than the limit becomes a short error reply; the link stays up
    const big = JSON.stringify({
      schema: 1,
      id: 'c-9',
      command: 'config-get',
      ok: true,
      result: { BIG },
    });
    await u.publishReply('platform/replies/gw-big', big, Buffer.from('corr-1'));
    const reply = await waitFor(() => sub.replies[0], { what: 'error reply' });
    expect(reply).toMatchObject({
      id: 'c-9',
      command: 'config-get',
      ok: false,
      error: { code: 'EDGE_UPLINK_TOO_LARGE' },
    });
    await u.publishReply('platform/replies/gw-big', JSON.stringify({ id: 'c-10', ok: true }));
    await waitFor(() => sub.replies.length >= 2, { what: 'small reply' });
    expect(sub.replies[1]).toMatchObject({ id: 'c-10', ok: true });
    expect(u.health()).toMatchObject({ connects: 1, disconnects: 0, repliesTooLarge: 1 });

    // a replay while the limit is still in force skips it (no disconnect)
    expect(u.replay('events', 6, 6, 10)).toBe(true);
    await waitFor(() => u.health().replaySkippedOversize === 1, { what: 'replay skip' });
    expect(u.health().disconnects).toBe(0);
    await u.stop();
    outbox.close();

    // restart: the parked row is still parked (not resent live), on a broker without the limit
    outbox = outboxIn(dir);
    expect(outbox.stats()).toMatchObject({ parked: 2, pending: 0 });
    const open = await broker();
    const sub2 = await subscriber(open.url, 5);
    const u2 = uplink(outbox, uplinkConfig({ url: open.url, protocolVersion: 5 }));
    u2.start();
    await waitFor(() => u2.connected && outbox.stats().pending === 0, { what: 'reconnected' });
    expect(sub2.events.some((e) => e.seq === 6 && e.stream === 'events')).toBe(false);
    expect(u2.replay('events', 6, 6, 10)).toBe(true);
    const replayed = await waitFor(
      () => sub2.events.find((e) => e.seq === 6 && e.stream === 'events'),
      { timeoutMs: 20_000, what: 'the parked event, replayed' },
    );
    expect(replayed).toMatchObject({ type: 'ct.image', replay: true });
    expect((replayed.payload as { blob: string }).blob.length).toBe(BIG.length);
    await waitFor(() => outbox.stats().parked === 1, { what: 'parked row marked delivered' });
  }, 60_000);

  it('MQTT 3.1.1: uplink.maxPacketBytes parks the 1 MB event; the connection is never dropped', async () => {
    const limited = await broker([`max_packet_size ${LIMIT}`]);
    const sub = await subscriber(limited.url, 4);
    const dir = tempDir('oversize-');
    dirs.push(dir);
    const outbox = outboxIn(dir);
    await appendStream(outbox);
    const u = uplink(
      outbox,
      uplinkConfig({ url: limited.url, protocolVersion: 4, maxPacketBytes: LIMIT }),
    );
    u.start();
    await waitFor(
      () =>
        sub.events.some((e) => e.type === 'alarm.uplink-oversize') &&
        sub.events.filter((e) => e.stream === 'events').length >= 11 &&
        sub.events.some((e) => e.stream === 'telemetry') &&
        outbox.stats().pending === 0,
      { timeoutMs: 20_000, what: 'small events, telemetry and the alarm' },
    );
    expectStreamParked(sub, u, outbox);
  }, 30_000);

  it('MQTT 3.1.1 without the setting: the broker drops the connection (the failure this prevents)', async () => {
    const limited = await broker([`max_packet_size ${LIMIT}`]);
    const dir = tempDir('oversize-');
    dirs.push(dir);
    const outbox = outboxIn(dir);
    await outbox.append([draft('ct.image', 1, { blob: BIG })]);
    const u = uplink(
      outbox,
      uplinkConfig({
        url: limited.url,
        protocolVersion: 4,
        backoff: { initialMs: 50, maxMs: 100 },
      }),
    );
    u.start();
    await waitFor(() => u.health().disconnects >= 2, { timeoutMs: 20_000, what: 'drops' });
    expect(outbox.stats()).toMatchObject({ pending: 1, parked: 0 });
  }, 30_000);

  it('an outbox file from before parking gets the column in place', () => {
    const dir = tempDir('oversize-');
    dirs.push(dir);
    const db = new Database(join(dir, 'outbox.sqlite'));
    db.exec(SCHEMA_DDL);
    db.prepare(
      `INSERT INTO outbox_events (stream, seq, id, type, parcel_id, mono_ms, wall_ms, payload, prio, bytes)
       VALUES ('events', 1, 'id-1', 'parcel.inducted', NULL, 1, 1, '{}', 2, 170)`,
    ).run();
    db.close();
    const outbox = outboxIn(dir);
    expect(outbox.stats()).toMatchObject({ pending: 1, parked: 0 });
    expect(outbox.park(1, 'test')).toBe(true);
    expect(outbox.park(1, 'again')).toBe(false);
    expect(outbox.pending(0, 10)).toEqual([]);
    expect(outbox.stats()).toMatchObject({ pending: 0, parked: 1 });
  });

  it('the disk quota may drop a parked row: pending and parked counts stay apart', async () => {
    const dir = tempDir('oversize-');
    dirs.push(dir);
    const outbox = openOutbox(dir, { maxBytes: 31_000 });
    outboxes.push(outbox);
    const [big] = await outbox.append([draft('ct.image', 1, { blob: 'x'.repeat(30_000) })]);
    expect(outbox.park(1, 'too large')).toBe(true);
    expect(big?.seq).toBe(1);
    // 20 small records push the quota: the oldest undelivered record (the parked one) goes first
    await outbox.append(Array.from({ length: 20 }, (_, i) => draft('parcel.inducted', i)));
    const stats = outbox.stats();
    expect(stats.dropped.records).toBe(1);
    expect(stats).toMatchObject({ parked: 0, pending: 20 });
    expect(outbox.pending(0, 100)).toHaveLength(20);
  });
});
