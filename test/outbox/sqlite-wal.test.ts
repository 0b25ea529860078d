import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fitWalToDisk, walLimitsFor } from '../../edge/sqlite-wal.js';

const MiB = 1024 * 1024;

describe('every store keeps its WAL sized to the disk', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a small disk checkpoints often and truncates to 1 MiB; a large one keeps the defaults', () => {
    expect(walLimitsFor(8 * MiB, 4096)).toEqual({
      checkpointPages: 64,
      journalSizeLimitBytes: MiB,
    });
    expect(walLimitsFor(32 * 1024 * MiB, 4096)).toEqual({
      checkpointPages: 1000,
      journalSizeLimitBytes: 64 * MiB,
    });
    expect(walLimitsFor(0, 4096).checkpointPages).toBe(1000);
  });

  it('the pragmas are applied to the open file (and an unreadable disk keeps defaults)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-'));
    dirs.push(dir);
    const db = new Database(join(dir, 'x.sqlite'));
    db.pragma('journal_mode = WAL');
    fitWalToDisk(db, join(dir, 'x.sqlite'), () => ({ blocks: 2048, bsize: 4096 }));
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(64);
    expect(db.pragma('journal_size_limit', { simple: true })).toBe(MiB);
    fitWalToDisk(db, join(dir, 'x.sqlite'), () => {
      throw new Error('no statfs');
    });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
  });
});
