import { closeSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { LogRateLimiter } from '../../edge/log-limit.js';
import { createRootLogger } from '../../edge/log.js';
import { EdgeError } from '../../edge/errors.js';

/**
 * No fault can flood the disk with log lines: the root logger (real pino, writing to a real
 * file) limits each message key to its first lines, then one count line per interval.
 */
const dir = mkdtempSync(join(tmpdir(), 'log-flood-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Line {
  msg: string;
  module?: string;
  logSuppressed?: number;
  err?: { stack?: string };
}

function readLines(file: string): Line[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
}

describe('log rate limit per message key', () => {
  it('a fault repeating 100k times writes a bounded number of lines, and says how many it left out', () => {
    const file = join(dir, 'flood.log');
    const fd = openSync(file, 'w');
    let now = 1_000_000;
    const root = createRootLogger(
      { level: 'info', pretty: false, rateLimit: { burst: 20, intervalMs: 60_000 } },
      { destination: pino.destination({ fd, sync: true }), nowMs: () => now },
    );
    const outbox = root.child({ module: 'outbox' });
    const uplink = root.child({ module: 'uplink' });
    // the full-disk fault of issue 14: every commit fails with a stack trace, for two minutes
    for (let i = 0; i < 100_000; i++) {
      now += 1.2; // 100k lines in 120 s
      const err = new EdgeError('EDGE_OUTBOX_WRITE', 'outbox commit failed', {
        cause: Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
      });
      outbox.error({ err, batch: i }, 'outbox commit failed');
      if (i % 10_000 === 0) uplink.warn({ i }, 'broker unreachable');
    }
    // the same message from another module is another key: still written
    uplink.error({ err: new Error('x') }, 'outbox commit failed');
    closeSync(fd);

    const lines = readLines(file);
    const flood = lines.filter((l) => l.module === 'outbox');
    const written = flood.filter((l) => l.logSuppressed === undefined);
    const summaries = flood.filter((l) => l.logSuppressed !== undefined);
    expect(written).toHaveLength(20); // the first 20, each with its stack trace
    expect(written[0]!.err?.stack).toContain('outbox commit failed');
    // one count per minute of the two-minute flood
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(2);
    expect(summaries[0]!.msg).toMatch(/outbox commit failed \(repeated: \d+ more lines/);
    // the counts add up to every line not written (the rest is still pending its interval)
    const counted = summaries.reduce((n, s) => n + (s.logSuppressed ?? 0), 0);
    expect(counted).toBeLessThanOrEqual(100_000 - 20);
    expect(counted).toBeGreaterThan(40_000);
    // the rare message of another module was never held back
    expect(
      lines.filter((l) => l.module === 'uplink' && l.msg === 'broker unreachable'),
    ).toHaveLength(10);
    expect(lines.some((l) => l.module === 'uplink' && l.msg === 'outbox commit failed')).toBe(true);
    // bounded: well under a megabyte for 100k faults (unlimited: ~150 MB)
    expect(lines.length).toBeLessThan(40);
    expect(statSync(file).size).toBeLessThan(100_000);
  });

  it('a key quiet for a whole interval starts over, and its last count is reported', () => {
    let now = 0;
    const limiter = new LogRateLimiter<string>(
      { burst: 3, intervalMs: 1000, maxKeys: 10 },
      () => now,
    );
    const writes = () => {
      let n = 0;
      for (let i = 0; i < 10; i++) if (limiter.admit('k', 'sink').write) n++;
      return n;
    };
    expect(writes()).toBe(3);
    now += 500;
    expect(writes()).toBe(0); // still the same flood
    now += 2000; // quiet for more than an interval
    const r = limiter.admit('k', 'sink');
    expect(r.summary?.suppressed).toBe(17); // what was left of the first flood
    expect(r.write).toBe(true);
    // a flood that stopped is reported by the sweep
    for (let i = 0; i < 10; i++) limiter.admit('j', 'sink');
    now += 1000;
    expect(limiter.sweep().map((s) => [s.key, s.suppressed])).toEqual([['j', 7]]);
  });

  it('too many distinct keys share one overflow key: memory and lines stay bounded', () => {
    const limiter = new LogRateLimiter<null>(
      { burst: 2, intervalMs: 60_000, maxKeys: 50 },
      () => 0,
    );
    let written = 0;
    for (let i = 0; i < 10_000; i++) if (limiter.admit(`key ${i}`, null).write) written++;
    expect(limiter.size).toBeLessThanOrEqual(51);
    expect(written).toBe(50 + 2); // each distinct key once, the overflow key its burst
  });
});
