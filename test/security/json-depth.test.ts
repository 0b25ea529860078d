import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { jsonDepth } from '../../edge/commands/json-depth.js';

/** Nesting counted on the bytes, before anything parses them. */
const depth = (text: string, max = 64) => jsonDepth(Buffer.from(text), max);

describe('jsonDepth', () => {
  it('counts objects and arrays, not brackets inside strings (escapes followed)', () => {
    expect(depth('{}')).toBe(1);
    expect(depth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(depth('{"a":"[[[[{{{{"}')).toBe(1);
    expect(depth('{"a":"\\"[[[[","b":"\\\\"}')).toBe(1);
    expect(depth('["\\\\",[["x"]]]')).toBe(3);
    expect(depth('7')).toBe(0);
  });

  it('stops as soon as the limit is passed (a 200,000-level document costs 17 bytes)', () => {
    expect(depth('['.repeat(200_000), 16)).toBe(17);
    expect(depth('{"a":'.repeat(200_000), 16)).toBe(17);
  });

  it('agrees with JSON.parse on the depth of real documents', () => {
    const doc = {
      schema: 1,
      id: 'x',
      args: { config: { drivers: [{ signals: { a: [1, { b: 2 }] } }] } },
    };
    const measure = (v: unknown): number =>
      v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(measure)) : 0;
    expect(depth(JSON.stringify(doc))).toBe(measure(doc));
  });

  it('a config-put carrying any example configuration fits the default maxDepth (16)', () => {
    for (const name of ['simulated-line', 'serial-line', 'opcua-line']) {
      const config = parse(
        readFileSync(new URL(`../../config/examples/${name}.yaml`, import.meta.url), 'utf8'),
      ) as unknown;
      const request = { schema: 1, id: 'c', args: { config, operatorId: 'o' } };
      expect(depth(JSON.stringify(request), 16), name).toBeLessThanOrEqual(12);
    }
  });
});
