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

  it('with a spread window, the first retry is uniform over it, then growth from initialMs', () => {
    const values = [0, 0.5, 1, 0, 1];
    let i = 0;
    const b = new Backoff(100, 1000, () => values[i++ % values.length]!, 15_000);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([0, 75, 200, 200, 800]);
    b.reset();
    expect(b.next()).toBe(0); // a new sequence starts with the spread again
    const fleet = new Backoff(500, 30_000, Math.random, 15_000);
    const firsts = Array.from({ length: 2000 }, () => (fleet.reset(), fleet.next())).sort(
      (a, c) => a - c,
    );
    // 10th-90th percentile of the first retries of 2,000 gateways: about 0.8 x 15 s
    expect(firsts[1800]! - firsts[200]!).toBeGreaterThan(11_000);
  });
});
