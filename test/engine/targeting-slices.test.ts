import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeError } from '../../edge/errors.js';
import { Slices } from '../../edge/targeting/slices.js';
import { TargetingStore } from '../../edge/targeting/targeting-store.js';

/**
 * A large targeting list loaded in slices (TargetingStore.replaceInSlices, the platform's path):
 * the event loop turns while it loads, the switch is still atomic, a load cut by a crash leaves
 * nothing behind, and one load runs at a time.
 */
const log = pino({ level: 'silent' });
const dirs: string[] = [];
const open = (dir: string) =>
  new TargetingStore({ file: join(dir, 'targeting.sqlite'), log, wallMs: Date.now });
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempStore() {
  const dir = mkdtempSync(join(tmpdir(), 'targeting-slices-'));
  dirs.push(dir);
  return { dir, s: open(dir) };
}
const entries = (n: number, prefix = 'RD') =>
  Array.from({ length: n }, (_, i) => ({
    id: `e${i}`,
    match: 'exact' as const,
    pattern: `${prefix}${String(i).padStart(8, '0')}5cn`,
  }));

describe('targeting list in slices', () => {
  it('loads 50,000 entries with the event loop turning, then switches in one step', async () => {
    const { s, dir } = tempStore();
    s.replace('v1', entries(10, 'SF'), 'first');
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const slices = new Slices(2);
    const loading = s.replaceInSlices('v2', entries(50_000), 'platform', slices);
    // until it is active, the old list answers
    expect(s.active()?.version).toBe('v1');
    const list = await loading;
    clearInterval(ticker);
    expect(slices.yields).toBeGreaterThan(5);
    expect(turns).toBeGreaterThan(5);
    expect(list.version).toBe('v2');
    expect(s.active()).toBe(list);
    expect(list.match('RD000499995CN')).toMatchObject({ entryId: 'e49999', listVersion: 'v2' });
    expect(list.match('SF000000005CN')).toBeNull();
    s.close();
    const again = open(dir);
    expect(again.active()?.version).toBe('v2');
    expect(again.active()?.size).toBe(50_000);
    again.close();
  });

  it('keeps keepVersions lists and removes the rows of older ones after the switch', async () => {
    const { s, dir } = tempStore();
    for (let v = 1; v <= 7; v++) await s.replaceInSlices(`v${v}`, entries(3000), 'p');
    expect(s.versions().map((v) => v.version)).toEqual(['v7', 'v6', 'v5', 'v4', 'v3']);
    s.close();
    const db = new Database(join(dir, 'targeting.sqlite'), { readonly: true });
    const versions = db
      .prepare('SELECT DISTINCT version FROM targeting_entry ORDER BY version')
      .all() as { version: string }[];
    db.close();
    expect(versions.map((v) => v.version)).toEqual(['v3', 'v4', 'v5', 'v6', 'v7']);
  });

  it('one load at a time: another replace meanwhile is refused and changes nothing', async () => {
    const { s } = tempStore();
    const loading = s.replaceInSlices('v1', entries(20_000), 'platform', new Slices(1));
    let refused: unknown = null;
    try {
      s.replace('v9', entries(5), 'http:boss');
    } catch (err) {
      refused = err;
    }
    expect(isEdgeError(refused, 'EDGE_TARGETING_BUSY')).toBe(true);
    await expect(s.replaceInSlices('v8', entries(5), 'platform')).rejects.toThrow(/being loaded/);
    expect((await loading).version).toBe('v1');
    expect(s.versions().map((v) => v.version)).toEqual(['v1']);
    s.close();
  });

  it('an invalid list is refused before anything is written', async () => {
    const { s } = tempStore();
    s.replace('v1', entries(3), 'first');
    const bad = [...entries(100), { id: 'e1', match: 'exact', pattern: 'X' }];
    await expect(s.replaceInSlices('v2', bad, 'platform')).rejects.toThrow(
      /duplicate id 'e1'[\s\S]*at least 2 characters/,
    );
    expect(s.active()?.version).toBe('v1');
    expect(s.versions()).toHaveLength(1);
    s.close();
  });

  it('rows of a load cut by a crash (staged, never activated) are removed on the next open', () => {
    const { s, dir } = tempStore();
    s.replace('v1', entries(3), 'first');
    s.close();
    const db = new Database(join(dir, 'targeting.sqlite'));
    const insert = db.prepare(
      'INSERT INTO targeting_entry (version, entry_id, match, pattern) VALUES (?, ?, ?, ?)',
    );
    for (let i = 0; i < 100; i++) insert.run('v2-cut', `e${i}`, 'exact', `W${i}`);
    db.close();
    const reopened = open(dir);
    expect(reopened.active()?.version).toBe('v1');
    expect(reopened.stats('v2-cut')).toEqual([]);
    reopened.close();
  });
});
