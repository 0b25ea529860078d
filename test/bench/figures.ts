/** A benchmark figure: `"name": { "value": n, "unit": "..." }` in the JSON results. */
export interface Figure {
  value: number;
  unit: string;
  /** what the figure means, the goal, and the conditions it was measured under */
  note?: string;
}

export type Figures = Record<string, Figure>;

/** Each test/bench/*.bench.ts default-exports one of these. */
export type Bench = (options: { quick: boolean }) => Promise<Figures>;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}
