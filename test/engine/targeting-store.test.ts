import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeError } from '../../edge/errors.js';
import { TargetingStore } from '../../edge/targeting/targeting-store.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
function store(dir?: string): { s: TargetingStore; dir: string } {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'targeting-'));
  if (!dir) dirs.push(d);
  return {
    s: new TargetingStore({ file: join(d, 'targeting.sqlite'), log, wallMs: Date.now }),
    dir: d,
  };
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('targeting store (real SQLite file)', () => {
  it('replaces atomically, matches exact and prefix, counts hits, survives a reopen', () => {
    const { s, dir } = store();
    expect(s.active()).toBeNull();
    const v1 = s.replace(
      'v1',
      [
        { id: 'a', match: 'exact', pattern: 'rd223479072cn', reason: 'risk model 7' },
        { id: 'b', match: 'prefix', pattern: 'SF12' },
        { id: 'c', match: 'prefix', pattern: 'SF1234' },
      ],
      'platform',
    );
    expect(v1.match('RD223479072CN')).toMatchObject({
      entryId: 'a',
      match: 'exact',
      listVersion: 'v1',
    });
    expect(v1.match('SF1234999')).toMatchObject({ entryId: 'c' }); // longest prefix wins
    expect(v1.match('SF1299')).toMatchObject({ entryId: 'b' });
    expect(v1.match('SF1')).toBeNull();
    s.recordHit('v1', 'a');
    s.recordHit('v1', 'a');
    s.close();

    const { s: again } = store(dir);
    expect(again.active()?.version).toBe('v1');
    expect(again.active()?.match('SF12x')).toMatchObject({ entryId: 'b' });
    expect(again.stats().find((e) => e.id === 'a')).toMatchObject({ hits: 2 });
    again.replace('v2', [{ id: 'z', match: 'exact', pattern: 'JD0001' }], 'api');
    expect(again.active()?.match('RD223479072CN')).toBeNull();
    expect(again.versions().map((v) => v.version)).toEqual(['v2', 'v1']);
    again.close();
  });

  it('a bad list is rejected with every problem, and the active list is unchanged', () => {
    const { s } = store();
    s.replace('v1', [{ id: 'a', match: 'exact', pattern: 'AB12' }], 'api');
    let err: unknown;
    try {
      s.replace(
        'v2',
        [
          { id: 'x', match: 'regex', pattern: 'A' },
          { id: 'x', match: 'exact', pattern: 'BB' },
        ],
        'api',
      );
    } catch (e) {
      err = e;
    }
    expect(isEdgeError(err, 'EDGE_TARGETING_INVALID')).toBe(true);
    expect((err as { details: string[] }).details).toHaveLength(3);
    expect(() => s.replace('v1', [], 'api')).toThrow(/already used/);
    expect(s.active()?.version).toBe('v1');
    expect(s.active()?.match('AB12')).not.toBeNull();
    s.close();
  });
});

describe('targeting entries from a platform command', () => {
  it('maps waybills to exact and patterns to prefix entries; an invtNo-only entry is refused', async () => {
    const { entriesFromCommand } = await import('../../edge/targeting/command-entries.js');
    const r = entriesFromCommand([
      { ruleId: 'R1', waybill: 'RD223479072CN', reason: 'model 7' },
      { ruleId: 'R1', pattern: 'SF12*' },
      { ruleId: 'R2', invtNo: '29242020I462713642' },
    ]);
    expect(r.entries).toEqual([
      { id: 'R1', match: 'exact', pattern: 'RD223479072CN', reason: 'model 7' },
      { id: 'R1#2', match: 'prefix', pattern: 'SF12', reason: null },
    ]);
    expect(r.unsupported).toHaveLength(1);
  });
});
