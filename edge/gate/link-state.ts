import type { LineSignal } from '../../drivers/driver.js';
import { encoderSignal, signalForEdge } from './input-signals.js';
import type { InputSpec } from './protocol.js';

/**
 * What the gateway side knows about the controller's inputs (levels, encoder counts) and fire
 * lateness, kept out of GateLink's process handling.
 */
export class InputLevels {
  private readonly levels = new Map<string, 0 | 1>();
  private readonly counts = new Map<string, number>();
  private specs = new Map<string, InputSpec>();

  configure(specs: readonly InputSpec[]): void {
    this.specs = new Map(specs.map((s) => [s.id, s]));
  }

  /** the levels a (re)started controller read at start */
  reset(levels: Record<string, 0 | 1>): void {
    this.levels.clear();
    for (const [id, v] of Object.entries(levels)) this.levels.set(id, v);
  }

  /** a debounced edge: remembered, and its engine signal if it has one */
  edge(input: string, value: 0 | 1, mono: number): LineSignal | null {
    this.levels.set(input, value);
    const spec = this.specs.get(input);
    return spec ? signalForEdge(spec, value, mono) : null;
  }

  encoder(input: string, count: number, mono: number): LineSignal {
    this.counts.set(input, count);
    return encoderSignal(input, count, mono);
  }

  level(id: string): 0 | 1 | undefined {
    return this.levels.get(id);
  }

  ofRole(role: InputSpec['role']): 0 | 1 | undefined {
    for (const spec of this.specs.values()) if (spec.role === role) return this.levels.get(spec.id);
    return undefined;
  }

  snapshot(): { inputs: Record<string, 0 | 1>; encoders: Record<string, number> } {
    return { inputs: Object.fromEntries(this.levels), encoders: Object.fromEntries(this.counts) };
  }
}

/** The last `size` fire latenesses, summarised for health. */
export class LatenessWindow {
  private readonly values: number[] = [];

  constructor(private readonly size = 1000) {}

  push(ms: number): void {
    this.values.push(ms);
    if (this.values.length > this.size) this.values.shift();
  }

  summary(): { p50: number | null; p99: number | null; max: number | null; samples: number } {
    const sorted = [...this.values].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : null;
    return { p50: pct(0.5), p99: pct(0.99), max: sorted.at(-1) ?? null, samples: sorted.length };
  }
}
