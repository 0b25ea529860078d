import { existsSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FakeClock } from '../support/clocks.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../edge/clock.js';
import { EdgeError } from '../../edge/errors.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import { OutboxWatch } from '../../edge/outbox/condition.js';
import { Outbox, type OutboxAlarm, type OutboxOptions } from '../../edge/outbox/outbox.js';
import type { DropRange } from '../../edge/outbox/quota.js';
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from '../support/tmpfs.js';
import { waitFor } from '../support/wait.js';

/**
 * The outbox on a real small file system (tmpfs): its limit follows the free space, a file that
 * fills the rest of the disk does not stop deliveries being marked, and a write that cannot be
 * stored at all is a counted, announced drop whose seqs stay taken.
 */

const unavailable = smallDiskUnavailable();
if (unavailable) console.warn(`outbox disk tests skipped: ${unavailable}`);

const freeBytes = (dir: string) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

function draft(i: number, type = 'parcel.decided') {
  return {
    type,
    parcelId: `p${i}`,
    atMono: systemClock.monoMs(),
    payload: { i, lane: 'inspection', reason: 'ct-suspect', pad: 'x'.repeat(300) },
  };
}

/** Fill the file system to the last block with a file of zeros. */
function fillDisk(dir: string): string {
  const file = join(dir, 'filler');
  writeFileSync(file, '');
  for (let chunk = 1024 * 1024; chunk >= 512; chunk = Math.floor(chunk / 2)) {
    for (;;) {
      try {
        writeFileSync(file, Buffer.alloc(chunk), { flag: 'a' });
      } catch {
        break;
      }
    }
  }
  return file;
}

describe.skipIf(unavailable !== null)('outbox on a small disk', () => {
  let disk: SmallDisk | null = null;
  let outbox: Outbox | null = null;

  afterEach(() => {
    outbox?.close();
    outbox = null;
    disk?.unmount();
    disk = null;
  });

  function open(extra: Partial<OutboxOptions> = {}): Outbox {
    disk ??= mountSmallDisk('4m');
    outbox = new Outbox({
      file: join(disk.dir, 'outbox.sqlite'),
      gatewayId: 'gw-disk',
      synchronous: 'FULL',
      batchMaxRows: 500,
      clock: systemClock,
      log: silentLogger(),
      ...extra,
    });
    return outbox;
  }

  it('the limit follows the disk: the outbox stops short of the reserve and drops in its order', async () => {
    const o = open({ maxBytes: 512 * 1024 * 1024 });
    const committed: EdgeEvent[] = [];
    o.onCommitted((events) => committed.push(...events));
    const alarms: OutboxAlarm[] = [];
    o.onAlarm((a) => alarms.push(a));
    const reserve = o.stats().disk.reserveBytes;
    expect(reserve).toBeGreaterThan(0);
    expect(o.stats().disk.reserveFile).toBe('held');
    // five times what the disk holds, as a line would write it: small batches, telemetry too
    for (let i = 0; i < 30_000; i++) {
      const batch = [draft(i, i % 3 === 0 ? 'photoeye.blocked' : 'parcel.decided')];
      if (i % 50 === 0) batch.push(draft(i, 'telemetry'));
      await o.append(batch); // never rejected: the quota makes room
    }
    const s = o.stats();
    expect(s.limitBy).toBe('disk');
    expect(s.limitBytes).toBeLessThan(4 * 1024 * 1024);
    expect(s.dropped.telemetry).toBeGreaterThan(0);
    expect(s.dropped.records).toBeGreaterThan(0);
    // the file system itself never ran out (the reserve file was never needed)
    expect(s.disk.reserveFile).toBe('held');
    expect(freeBytes(disk!.dir)).toBeGreaterThan(reserve * 0.5);
    expect(o.condition()).toMatchObject({ state: 'degraded', reasons: [{ code: 'dropping' }] });
    // every seq is stored or announced (closing announces what is left)
    o.close();
    outbox = null;
    const ranges = committed
      .filter((e) => e.type === 'outbox.dropped')
      .flatMap((e) => (e.payload as { ranges: DropRange[] }).ranges);
    const reopened = open();
    const stored = new Set(reopened.range('events', 1, s.lastSeq, 1_000_000).map((r) => r.seq));
    const unexplained: number[] = [];
    for (let seq = 1; seq <= s.lastSeq; seq++) {
      if (stored.has(seq)) continue;
      if (ranges.some((r) => r.stream === 'events' && r.fromSeq <= seq && seq <= r.toSeq)) continue;
      unexplained.push(seq);
    }
    expect(unexplained).toEqual([]);
    expect(alarms.some((a) => a.code === 'EDGE_OUTBOX_QUOTA')).toBe(true);
  }, 120_000);

  it('another file fills the disk: deliveries are still marked, appends still stored', async () => {
    const o = open();
    for (let i = 0; i < 3000; i++) await o.append([draft(i)]);
    const filler = fillDisk(disk!.dir);
    expect(freeBytes(disk!.dir)).toBeLessThan(64 * 1024);
    // the uplink delivers everything: every mark succeeds on the full disk (the outbox gives
    // the file system back what its limit, free space minus the reserve, no longer allows:
    // delivered rows first, then undelivered ones, announced)
    let marked = 0;
    for (;;) {
      const rows = o.pending(0, 100);
      if (rows.length === 0) break;
      marked += o.markDelivered(rows.map((r) => r.pos));
    }
    expect(marked).toBeGreaterThan(1000);
    expect(marked + o.stats().dropped.records).toBe(3000);
    expect(o.stats()).toMatchObject({ pending: 0, unmarked: 0 });
    expect(o.stats().disk.reserveFile).toBe('released');
    expect(o.condition().reasons.map((r) => r.code)).toContain('disk-full');
    // new events are stored in the room delivered rows leave
    for (let i = 0; i < 200; i++) await o.append([draft(3000 + i)]);
    expect(o.stats()).toMatchObject({ pending: 200 });
    expect(o.stats().lastSeq).toBeGreaterThanOrEqual(3200); // + the drop announcements
    // once the disk has room again, the reserve file is taken back
    rmSync(filler);
    await waitFor(
      () => {
        o.maintain();
        (o as unknown as { guard: { check(): void } }).guard.check();
        return o.stats().disk.reserveFile === 'held';
      },
      { what: 'reserve file held again' },
    );
    expect(existsSync(join(disk!.dir, 'outbox.sqlite.reserve'))).toBe(true);
  }, 120_000);

  it('events that cannot be stored at all are counted, alarmed and announced; their seqs stay taken', async () => {
    const o = open({ reserveFileBytes: 0 });
    const committed: EdgeEvent[] = [];
    o.onCommitted((events) => committed.push(...events));
    const alarms: OutboxAlarm[] = [];
    o.onAlarm((a) => alarms.push(a));
    await o.append([draft(1)]);
    const filler = fillDisk(disk!.dir);
    // nothing the outbox holds can make room for 300 events
    const lost = await o.append(Array.from({ length: 300 }, (_, i) => draft(2 + i))).then(
      () => null,
      (err: unknown) => err,
    );
    expect(lost).toBeInstanceOf(EdgeError);
    expect((lost as EdgeError).code).toBe('EDGE_OUTBOX_FULL');
    expect(o.stats().dropped.records).toBe(300);
    expect(alarms).toMatchObject([
      {
        code: 'EDGE_OUTBOX_FULL',
        details: { ranges: [{ stream: 'events', fromSeq: 2, toSeq: 301, cause: 'disk-full' }] },
      },
    ]);
    expect(o.condition().reasons.map((r) => r.code)).toContain('not-recording');
    rmSync(filler);
    // the record goes on after the gap, and the gap is announced
    const [next] = await o.append([draft(400)]);
    expect(next!.seq).toBe(302);
    expect(o.condition().reasons.map((r) => r.code)).not.toContain('not-recording');
    const announced = await waitFor(() => committed.find((e) => e.type === 'outbox.dropped'), {
      what: 'outbox.dropped',
    });
    expect(announced.payload).toMatchObject({
      dropped: { records: 300 },
      ranges: [{ stream: 'events', fromSeq: 2, toSeq: 301, count: 300, cause: 'disk-full' }],
    });
    // the skipped seqs survive a restart (never given to another event)
    const file = join(disk!.dir, 'outbox.sqlite');
    o.close();
    outbox = new Outbox({
      file,
      gatewayId: 'gw-disk',
      synchronous: 'FULL',
      batchMaxRows: 500,
      clock: systemClock,
      log: silentLogger(),
    });
    expect(outbox.stats().dropped.records).toBe(300);
    const [after] = await outbox.append([draft(500)]);
    expect(after!.seq).toBeGreaterThan(announced.seq);
  }, 120_000);
});

describe('outbox where the free space cannot be read', () => {
  it('keeps to maxBytes, without a reserve file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-nostatfs-'));
    const o = new Outbox({
      file: join(dir, 'outbox.sqlite'),
      gatewayId: 'gw-disk',
      synchronous: 'FULL',
      batchMaxRows: 500,
      maxBytes: 100_000,
      clock: systemClock,
      log: silentLogger(),
      statfs: () => {
        throw Object.assign(new Error('statfs failed'), { code: 'ENOSYS' });
      },
    });
    try {
      for (let i = 0; i < 100; i++) await o.append([0, 1, 2, 3].map((j) => draft(4 * i + j)));
      expect(o.stats()).toMatchObject({ limitBy: 'quota', limitBytes: 100_000 });
      expect(o.stats().disk.reserveFile).toBe('none');
      expect(o.stats().bytes).toBeLessThanOrEqual(100_000);
      expect(existsSync(join(dir, 'outbox.sqlite.reserve'))).toBe(false);
    } finally {
      o.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('outbox condition (pure, injected clock)', () => {
  function clock(): Clock & { advance(ms: number): void } {
    return new FakeClock(0, 1_800_000_000_000);
  }

  it('stuck: connected, pending and nothing delivered for stuckAfterMs; raised once, cleared by progress', () => {
    const c = clock();
    let connected = true;
    const w = new OutboxWatch({ monoMs: c.monoMs, wallMs: c.wallMs, stuckAfterMs: 30_000 });
    w.setDrainProbe(() => connected);
    expect(w.evaluate({ pending: 10, reserveReleased: false }).state).toBe('ok');
    c.advance(29_000);
    expect(w.evaluate({ pending: 10, reserveReleased: false }).state).toBe('ok');
    c.advance(2000);
    const stuck = w.evaluate({ pending: 10, reserveReleased: false });
    expect(stuck).toMatchObject({ state: 'degraded', stuckStarted: true });
    expect(stuck.reasons[0]!.code).toBe('not-draining');
    expect(w.evaluate({ pending: 10, reserveReleased: false }).stuckStarted).toBe(false);
    w.marks(5, false);
    expect(w.evaluate({ pending: 5, reserveReleased: false }).state).toBe('ok');
    // a broker that is down is not a stuck outbox
    connected = false;
    c.advance(60_000);
    expect(w.evaluate({ pending: 5, reserveReleased: false }).state).toBe('ok');
    // marks that fail while connected are
    connected = true;
    w.marks(0, true);
    c.advance(31_000);
    const failing = w.evaluate({ pending: 5, reserveReleased: false });
    expect(failing.reasons[0]!.message).toMatch(/deliveries cannot be marked/);
  });

  it('drops keep it degraded for holdMs; a failed commit until the next one succeeds', () => {
    const c = clock();
    const w = new OutboxWatch({ monoMs: c.monoMs, wallMs: c.wallMs, holdMs: 60_000 });
    w.dropped([1, 2, 3]);
    c.advance(59_000);
    expect(w.evaluate({ pending: 0, reserveReleased: false }).reasons).toMatchObject([
      { code: 'dropping', message: expect.stringMatching(/records 3, operational 2, telemetry 1/) },
    ]);
    c.advance(2000);
    expect(w.evaluate({ pending: 0, reserveReleased: false }).state).toBe('ok');
    w.commitFailed(true);
    expect(w.evaluate({ pending: 0, reserveReleased: true }).reasons.map((r) => r.code)).toEqual([
      'not-recording',
      'disk-full',
    ]);
    w.committed();
    expect(w.evaluate({ pending: 0, reserveReleased: false }).state).toBe('ok');
  });
});
