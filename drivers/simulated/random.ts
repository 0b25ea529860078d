/** A small seeded PRNG (mulberry32) so simulated runs can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function between(random: () => number, min: number, max: number): number {
  return min + random() * (max - min);
}

/** An exponentially distributed wait in ms with the given mean in seconds (0: never, Infinity). */
export function exponentialMs(random: () => number, meanS: number): number {
  return meanS > 0 ? -Math.log(1 - random()) * meanS * 1000 : Infinity;
}
