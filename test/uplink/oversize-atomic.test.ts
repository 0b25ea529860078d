import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import type { EventEnvelope } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import type { Outbox } from '../../edge/outbox/outbox.js';
import { SCHEMA_DDL } from '../../edge/outbox/store.js';
import { OversizeGuard } from '../../edge/uplink/oversize.js';
import { UPLINK_OVERSIZE_ALARM } from '../../edge/uplink/packet-size.js';
import { Uplink } from '../../edge/uplink/uplink.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { draft, openOutbox, tempDir, uplinkConfig } from './helpers.js';

/**
 * A parked oversize event row is always explained by an `alarm.uplink-oversize` event: the row
 * is parked and its alarm stored in one SQLite transaction (both or neither), and a file holding
 * a parked row without its alarm (written by the earlier, non-atomic code, or cut between its two
 * steps) gets exactly one alarm when the uplink's guard is created, however often it is reopened.
 */

const LIMIT = 65_536;
const BIG = 'x'.repeat(200_000);

const dirs: string[] = [];
const outboxes: Outbox[] = [];
const uplinks: Uplink[] = [];
const clients: MqttClient[] = [];
const brokers: MosquittoProcess[] = [];
const dbs: Database.Database[] = [];

function dir(): string {
  const d = tempDir('oversize-atomic-');
  dirs.push(d);
  return d;
}

function outboxIn(d: string): Outbox {
  const o = openOutbox(d);
  outboxes.push(o);
  return o;
}

function guardFor(outbox: Outbox): OversizeGuard {
  return new OversizeGuard({
    configuredMaxBytes: LIMIT,
    protocolVersion: 5,
    outbox,
    clock: systemClock,
    log: silentLogger(),
  });
}

/** A second connection to the same file, as an inspector (and to install a failing trigger). */
function inspect(d: string): Database.Database {
  const db = new Database(join(d, 'outbox.sqlite'));
  db.pragma('busy_timeout = 5000');
  dbs.push(db);
  return db;
}

interface RawRow {
  pos: number;
  stream: string;
  seq: number;
  id: string;
  type: string;
  payload: string;
  parked: string | null;
  parked_alarm: string | null;
  delivered_at: number | null;
}

function rows(db: Database.Database): RawRow[] {
  return db
    .prepare<[], RawRow>(
      `SELECT pos, stream, seq, id, type, payload, parked, parked_alarm, delivered_at
       FROM outbox_events ORDER BY pos`,
    )
    .all();
}

function alarmsFor(db: Database.Database, id: string): RawRow[] {
  return rows(db).filter(
    (r) => r.type === UPLINK_OVERSIZE_ALARM && (JSON.parse(r.payload) as { id: string }).id === id,
  );
}

afterEach(async () => {
  for (const u of uplinks.splice(0)) await u.stop();
  for (const c of clients.splice(0)) await c.endAsync(true);
  for (const o of outboxes.splice(0)) o.close();
  for (const db of dbs.splice(0)) db.close();
});

afterAll(async () => {
  for (const b of brokers) await b.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('oversize parking is atomic with its alarm (real SQLite files)', () => {
  it('a failing alarm insert leaves the row pending and unparked; once it succeeds, row and alarm commit together, gapless', async () => {
    const d = dir();
    const outbox = outboxIn(d);
    await outbox.append([draft('parcel.inducted', 1)]);
    await outbox.append([draft('ct.image', 2, { blob: BIG })]);
    await outbox.append([draft('parcel.inducted', 3)]);
    const guard = guardFor(outbox);
    const big = outbox.range('events', 2, 2, 1)[0]!;

    // the database refuses the alarm row (a real SQLite failure inside the transaction)
    const db = inspect(d);
    db.exec(`CREATE TRIGGER refuse_alarm BEFORE INSERT ON outbox_events
             WHEN NEW.type = '${UPLINK_OVERSIZE_ALARM}' BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    guard.park(big, 200_300, LIMIT);
    expect(guard.health()).toMatchObject({ parkedOversize: 0 });
    expect(() =>
      outbox.parkWithAlarm(big.pos, 'too large', {
        type: UPLINK_OVERSIZE_ALARM,
        parcelId: null,
        atMono: systemClock.monoMs(),
        payload: { seq: 2 },
      }),
    ).toThrow(expect.objectContaining({ code: 'EDGE_OUTBOX_WRITE' }) as Error);
    // nothing half-done: not parked, still pending, no alarm, no seq consumed
    expect(rows(db).find((r) => r.seq === 2)).toMatchObject({ parked: null, parked_alarm: null });
    expect(rows(db).filter((r) => r.type === UPLINK_OVERSIZE_ALARM)).toEqual([]);
    expect(outbox.pending(0, 10).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(outbox.stats()).toMatchObject({ pending: 3, parked: 0, lastSeq: 3 });

    // the database accepts it again: the row is parked and its alarm takes the next seq
    db.exec('DROP TRIGGER refuse_alarm');
    const committed: number[] = [];
    outbox.onCommitted((events) => committed.push(...events.map((e) => e.seq)));
    guard.park(big, 200_300, LIMIT);
    expect(guard.health()).toMatchObject({ parkedOversize: 1 });
    const [alarm] = alarmsFor(db, big.id);
    expect(alarm).toMatchObject({ stream: 'events', seq: 4, delivered_at: null });
    expect(JSON.parse(alarm!.payload)).toEqual({
      stream: 'events',
      seq: 2,
      id: big.id,
      type: 'ct.image',
      bytes: 200_300,
      limit: LIMIT,
    });
    expect(rows(db).find((r) => r.seq === 2 && r.stream === 'events')).toMatchObject({
      parked: `packet of 200300 bytes exceeds the broker limit of ${LIMIT}`,
      parked_alarm: alarm!.id,
    });
    expect(outbox.pending(0, 10).map((r) => r.seq)).toEqual([1, 3, 4]);
    expect(outbox.stats()).toMatchObject({ pending: 3, parked: 1, lastSeq: 4 });
    await waitFor(() => committed.includes(4), { what: 'listeners told of the alarm' });
    // parking again changes nothing (no second alarm); the next event follows without a gap
    guard.park(big, 200_300, LIMIT);
    expect(alarmsFor(db, big.id)).toHaveLength(1);
    const [next] = await outbox.append([draft('parcel.inducted', 5)]);
    expect(next!.seq).toBe(5);
  });

  it('a parked row cut off from its alarm (crash between the two old steps) gets exactly one alarm, however often reopened', async () => {
    const d = dir();
    let outbox = outboxIn(d);
    await outbox.append([draft('parcel.inducted', 1), draft('ct.image', 2, { blob: BIG })]);
    await outbox.append([draft('telemetry', 3, { blob: BIG })]);
    const big = outbox.range('events', 2, 2, 1)[0]!;
    const sample = outbox.range('telemetry', 1, 1, 1)[0]!;
    // what the earlier code left when the process died before the alarm's batch committed
    expect(
      outbox.park(big.pos, `packet of 200321 bytes exceeds the broker limit of ${LIMIT}`),
    ).toBe(true);
    expect(outbox.park(sample.pos, 'packet too large')).toBe(true);
    outbox.close();

    for (let open = 1; open <= 3; open++) {
      outbox = outboxIn(d);
      const guard = guardFor(outbox);
      expect(guard.explainParked(), 'nothing left to explain after the constructor').toBe(0);
      outbox.close();
    }
    const db = inspect(d);
    const alarms = alarmsFor(db, big.id);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ stream: 'events', seq: 3 });
    expect(JSON.parse(alarms[0]!.payload)).toEqual({
      stream: 'events',
      seq: 2,
      id: big.id,
      type: 'ct.image',
      bytes: 200_321,
      limit: LIMIT,
    });
    expect(rows(db).find((r) => r.pos === big.pos)?.parked_alarm).toBe(alarms[0]!.id);
    // telemetry parks without an alarm, as before
    expect(rows(db).filter((r) => r.type === UPLINK_OVERSIZE_ALARM)).toHaveLength(1);
  });

  it('a file from before the alarm column: stored alarms are linked, missing ones raised once and published', async () => {
    const d = dir();
    const raw = new Database(join(d, 'outbox.sqlite'));
    raw.exec(SCHEMA_DDL);
    raw.exec('ALTER TABLE outbox_events ADD COLUMN parked TEXT');
    const insert = raw.prepare(
      `INSERT INTO outbox_events
         (stream, seq, id, type, parcel_id, mono_ms, wall_ms, payload, prio, bytes, delivered_at, parked)
       VALUES (?, ?, ?, ?, NULL, 1, 1, ?, 2, 200, ?, ?)`,
    );
    const reason = `packet of 300000 bytes exceeds the broker limit of ${LIMIT}`;
    insert.run('events', 1, 'id-1', 'parcel.inducted', '{}', 5, null);
    insert.run('events', 2, 'id-2', 'ct.image', '{"blob":"x"}', null, reason);
    insert.run('events', 3, 'id-3', 'ct.image', '{"blob":"y"}', null, reason);
    const oldAlarm = { stream: 'events', seq: 3, id: 'id-3', type: 'ct.image', bytes: 1, limit: 2 };
    insert.run('events', 4, 'id-4', UPLINK_OVERSIZE_ALARM, JSON.stringify(oldAlarm), 5, null);
    insert.run('events', 5, 'id-5', 'ct.image', '{"blob":"z"}', null, 'some older reason');
    raw.prepare("INSERT INTO outbox_meta (key, value) VALUES ('seq.events', 5)").run();
    raw.close();

    const broker = await startMosquitto();
    brokers.push(broker);
    const sub = await connectAsync(broker.url, { clean: true, protocolVersion: 5 });
    clients.push(sub);
    const events: EventEnvelope[] = [];
    sub.on('message', (topic, payload) => {
      if (!topic.endsWith('/status')) events.push(JSON.parse(payload.toString()) as EventEnvelope);
    });
    await sub.subscribeAsync('customs/site-t/#', { qos: 1 });

    for (let open = 1; open <= 2; open++) {
      const outbox = outboxIn(d);
      const u = new Uplink({
        config: uplinkConfig({ url: broker.url, protocolVersion: 5, maxPacketBytes: LIMIT }),
        gatewayId: 'gw-atomic',
        site: 'site-t',
        version: '1.0.0',
        startedAt: '2026-01-01T00:00:00.000Z',
        outbox,
        clock: systemClock,
        log: silentLogger(),
      });
      uplinks.push(u);
      u.start();
      await waitFor(() => u.connected && outbox.stats().pending === 0, {
        timeoutMs: 20_000,
        what: `open ${open}: connected, nothing pending`,
      });
      expect(outbox.stats()).toMatchObject({ parked: 3, lastSeq: 7 });
      await u.stop();
      outbox.close();
      outboxes.splice(outboxes.indexOf(outbox), 1);
      uplinks.splice(uplinks.indexOf(u), 1);
    }

    // exactly the two missing alarms were published, once each, with the next seqs
    await waitFor(() => events.length >= 2, { what: 'the two new alarms' });
    expect(events.map((e) => [e.seq, e.type, (e.payload as { id: string }).id])).toEqual([
      [6, UPLINK_OVERSIZE_ALARM, 'id-2'],
      [7, UPLINK_OVERSIZE_ALARM, 'id-5'],
    ]);
    expect(events[0]!.payload).toMatchObject({ seq: 2, bytes: 300_000, limit: LIMIT });
    // a reason in another form: the payload size and the configured limit
    expect(events[1]!.payload).toMatchObject({ seq: 5, bytes: 12, limit: LIMIT });
    const db = inspect(d);
    expect(alarmsFor(db, 'id-3')).toHaveLength(1);
    expect(
      rows(db)
        .filter((r) => r.parked !== null)
        .map((r) => r.parked_alarm),
    ).toEqual([
      rows(db).find((r) => r.seq === 6)!.id,
      'id-4',
      rows(db).find((r) => r.seq === 7)!.id,
    ]);
  }, 60_000);
});
