import { describe, expect, it } from 'vitest';
import { Backoff } from '../../edge/backoff.js';

describe('reconnect backoff', () => {
  it('grows exponentially, is capped, and jitters within [cap/2, cap]', () => {
    const low = new Backoff(100, 1000, () => 0);
    const high = new Backoff(100, 1000, () => 1);
    expect(Array.from({ length: 6 }, () => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    expect(Array.from({ length: 6 }, () => high.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    high.reset();
    expect(high.next()).toBe(100);
    const random = new Backoff(100, 1000);
    const spread = new Set(Array.from({ length: 50 }, () => (random.reset(), random.next())));
    expect(spread.size).toBeGreaterThan(10); // a fleet does not reconnect in lockstep
  });
});
