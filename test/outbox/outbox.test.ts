import { rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import type { OutboxAlarm } from '../../edge/outbox/outbox.js';
import { draft, openOutbox, tempDir } from '../uplink/helpers.js';

const dirs: string[] = [];
function dir(): string {
  const d = tempDir('outbox-');
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('outbox', () => {
  it('assigns gapless per-stream sequences at commit and keeps them across a reopen', async () => {
    const d = dir();
    const a = openOutbox(d);
    const stored = await a.append([
      draft('parcel.inducted', 1),
      draft('telemetry', 2),
      draft('parcel.decided', 3),
    ]);
    expect(stored.map((e) => [e.stream, e.seq])).toEqual([
      ['events', 1],
      ['telemetry', 1],
      ['events', 2],
    ]);
    const pending = a.pending(0, 10);
    expect(pending.map((r) => r.pos)).toEqual([1, 2, 3]);
    a.markDelivered([pending[0]!.pos]);
    a.close();
    const b = openOutbox(d);
    expect(b.stats()).toMatchObject({ pending: 2, delivered: 1, lastSeq: 2, lastTelemetrySeq: 1 });
    // deleting every row (retention) does not reset the sequence
    b.markDelivered(b.pending(0, 10).map((r) => r.pos));
    b.close();
    const c = openOutbox(d, { deliveredRetentionS: 0 });
    c.maintain();
    expect(c.stats()).toMatchObject({ pending: 0, delivered: 0, retentionDeleted: 3 });
    const [next] = await c.append([draft('parcel.inducted', 4)]);
    expect(next!.seq).toBe(3);
    c.close();
  });

  it('marks exactly the acknowledged rows delivered: unsorted, gapped, repeated, already delivered', async () => {
    const box = openOutbox(dir());
    await box.append(Array.from({ length: 10 }, (_, i) => draft('parcel.decided', i)));
    const pos = box.pending(0, 20).map((r) => r.pos);
    // PUBACKs arrive out of order, with holes (rows still in flight) and a duplicate
    const acked = [pos[6]!, pos[2]!, pos[3]!, pos[2]!, pos[0]!, pos[9]!];
    expect(box.markDelivered(acked)).toBe(5);
    expect(box.pending(0, 20).map((r) => r.pos)).toEqual([1, 4, 5, 7, 8].map((i) => pos[i]));
    // marking again changes nothing (the counts stay right)
    expect(box.markDelivered([pos[0]!, pos[6]!])).toBe(0);
    expect(box.stats()).toMatchObject({ pending: 5, delivered: 5 });
    box.close();
  });

  it('drops delivered rows, then telemetry, then operational before records; dropping records raises an alarm', async () => {
    const d = dir();
    const box = openOutbox(d, { maxBytes: 100_000 });
    const alarms: OutboxAlarm[] = [];
    box.onAlarm((a) => alarms.push(a));
    const pad = 'x'.repeat(340); // ~500 bytes a row with the overhead
    // 40 delivered records
    await box.append(Array.from({ length: 40 }, (_, i) => draft('parcel.decided', i, { pad })));
    box.markDelivered(box.pending(0, 100).map((r) => r.pos));
    // 60 pending telemetry + 40 pending operational
    await box.append(Array.from({ length: 60 }, (_, i) => draft('telemetry', i, { pad })));
    await box.append(Array.from({ length: 40 }, (_, i) => draft('driver.state', i, { pad })));
    expect(box.stats().bytes).toBeLessThanOrEqual(100_000);
    expect(box.stats().dropped).toEqual({ telemetry: 0, operational: 0, records: 0 });
    // 150 records: delivered rows go first, then telemetry, then operational
    await box.append(Array.from({ length: 150 }, (_, i) => draft('parcel.inducted', i, { pad })));
    let s = box.stats();
    expect(s.bytes).toBeLessThanOrEqual(100_000);
    expect(s.dropped.telemetry).toBe(60);
    expect(s.dropped.operational).toBeGreaterThan(0);
    expect(s.dropped.records).toBe(0);
    expect(alarms).toHaveLength(0);
    const left = box.pending(0, 1000);
    expect(left.filter((r) => r.type === 'parcel.inducted')).toHaveLength(150);
    expect(left.filter((r) => r.type === 'telemetry')).toHaveLength(0);
    // more records than fit: the oldest records go, counted, alarmed
    await box.append(Array.from({ length: 100 }, (_, i) => draft('ct.verdict', i, { pad })));
    s = box.stats();
    expect(s.dropped.operational).toBe(40);
    expect(s.dropped.records).toBeGreaterThan(0);
    expect(s.alarms).toBe(1);
    expect(alarms[0]?.code).toBe('EDGE_OUTBOX_QUOTA');
    expect(s.pending).toBe(box.pending(0, 10_000).length);
    expect(box.pending(0, 10_000).filter((r) => r.type === 'ct.verdict')).toHaveLength(100);
    box.close();
    // counters survive a restart, and the drop was announced on the events stream
    const again = openOutbox(d, { maxBytes: 100_000 });
    expect(again.stats().dropped).toEqual(s.dropped);
    expect(again.stats().alarms).toBe(1);
    const announced = again.recent(['outbox.dropped'], 10);
    expect(announced.length).toBeGreaterThan(0);
    expect(announced.at(-1)!.payload).toMatchObject({ dropped: { telemetry: 60 } });
    again.close();
  });

  it('moves an unreadable database aside and continues with higher sequence numbers', async () => {
    const d = dir();
    writeFileSync(join(d, 'outbox.sqlite'), 'this is not a sqlite database'.repeat(200));
    const box = openOutbox(d);
    const alarms: OutboxAlarm[] = [];
    box.onAlarm((a) => alarms.push(a));
    const [e] = await box.append([draft('parcel.inducted', 1)]);
    expect(e!.seq).toBeGreaterThan(1_000_000_000);
    expect(box.stats().recovered).toMatch(/corrupt/);
    expect(readdirSync(d).some((f) => f.includes('.corrupt-'))).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(alarms.map((a) => a.code)).toContain('EDGE_OUTBOX_CORRUPT');
    expect(box.recent(['outbox.reset'], 1)).toHaveLength(1);
    box.close();
  });

  it('migrates the walking skeleton table, keeping its sequence and delivery state', async () => {
    const d = dir();
    const file = join(d, 'outbox.sqlite');
    const db = new Database(file);
    db.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL, parcel_id TEXT, mono_ms REAL NOT NULL, wall_ms INTEGER NOT NULL,
      payload TEXT NOT NULL, delivered_at INTEGER)`);
    const ins = db.prepare(
      'INSERT INTO events (id, type, parcel_id, mono_ms, wall_ms, payload, delivered_at) VALUES (?, ?, NULL, 0, 0, ?, ?)',
    );
    ins.run('0190a0a0-0000-7000-8000-000000000001', 'parcel.inducted', '{}', 5);
    ins.run('0190a0a0-0000-7000-8000-000000000002', 'parcel.decided', '{}', null);
    db.close();
    const box = openOutbox(d);
    expect(box.stats()).toMatchObject({ pending: 1, delivered: 1, lastSeq: 2 });
    const [e] = await box.append([draft('parcel.inducted', 3)]);
    expect(e!.seq).toBe(3);
    box.close();
    expect(existsSync(file)).toBe(true);
  });

  it('checkpoints the WAL', async () => {
    const d = dir();
    const box = openOutbox(d, { log: silentLogger(), clock: systemClock });
    await box.append(Array.from({ length: 2000 }, (_, i) => draft('parcel.inducted', i)));
    box.markDelivered(box.pending(0, 5000).map((r) => r.pos));
    box.maintain();
    const s = box.stats();
    expect(s.checkpoints).toBe(1);
    expect(s.walBytes).toBe(0); // TRUNCATE when nothing is pending
    box.close();
  });
});
