import { EdgeError } from '../../edge/errors.js';
import {
  realGpioTimers,
  type EdgeListener,
  type GpioBinding,
  type GpioInput,
  type GpioInputOptions,
  type GpioOutput,
  type GpioOutputOptions,
  type GpioTimers,
} from './binding.js';
import { Debouncer } from './debounce.js';

/**
 * A GPIO backend without hardware, for machines without GPIO, the simulated line and tests.
 * - Outputs record every write (logical value, raw wire level, monotonic timestamp); listeners
 *   see each write as it happens.
 * - Inputs are driven with `setInput` (a raw logical level, optionally with the time the edge
 *   happened) and go through the same debounce as the onoff backend.
 */
export interface OutputWrite {
  pin: number;
  /** logical value (1 = active) */
  value: 0 | 1;
  /** the level on the wire (inverted for active-low) */
  raw: 0 | 1;
  monoMs: number;
}

interface SimInput {
  debouncer: Debouncer;
  activeLow: boolean;
}

export class SimulatedGpioBinding implements GpioBinding {
  readonly name = 'simulated';
  readonly writes: OutputWrite[] = [];
  private readonly outputs = new Map<number, { value: 0 | 1; activeLow: boolean }>();
  private readonly inputs = new Map<number, SimInput>();
  private readonly maxWrites: number;
  private readonly timers: GpioTimers;
  private readonly writeListeners = new Set<(w: OutputWrite) => void>();

  constructor(
    private readonly monoMs: () => number,
    options: { maxWrites?: number; timers?: GpioTimers } = {},
  ) {
    this.maxWrites = options.maxWrites ?? 10_000;
    this.timers = options.timers ?? realGpioTimers(monoMs);
  }

  private claim(pin: number): void {
    if (this.outputs.has(pin) || this.inputs.has(pin))
      throw new EdgeError('EDGE_GPIO_PIN_BUSY', `BCM ${pin} is already open here`);
  }

  openOutput(pin: number, options: GpioOutputOptions): GpioOutput {
    this.claim(pin);
    this.outputs.set(pin, { value: options.initial, activeLow: options.activeLow });
    this.record(pin, options.initial);
    return {
      pin,
      write: (value) => {
        const o = this.outputs.get(pin);
        if (!o) throw new EdgeError('EDGE_GPIO_IO', `BCM ${pin} is closed`);
        o.value = value;
        this.record(pin, value);
      },
      read: () => this.outputs.get(pin)?.value ?? 0,
      close: () => {
        this.outputs.delete(pin);
      },
    };
  }

  openInput(pin: number, options: GpioInputOptions, onEdge: EdgeListener): GpioInput {
    this.claim(pin);
    const debouncer = new Debouncer(0, options.debounceMs, this.timers, onEdge);
    this.inputs.set(pin, { debouncer, activeLow: options.activeLow });
    return {
      pin,
      read: () => debouncer.value,
      close: () => {
        debouncer.cancel();
        this.inputs.delete(pin);
      },
    };
  }

  /** Drive a simulated input (logical level) as a real interrupt would report it. */
  setInput(pin: number, value: 0 | 1, atMono = this.monoMs()): void {
    const input = this.inputs.get(pin);
    if (!input) throw new EdgeError('EDGE_GPIO_IO', `BCM ${pin} is not an open input`);
    input.debouncer.sample(value, atMono);
  }

  /** Current logical value of an output, undefined when the pin is not open. */
  outputValue(pin: number): 0 | 1 | undefined {
    return this.outputs.get(pin)?.value;
  }

  /** Every write to one pin, oldest first. */
  writesTo(pin: number): OutputWrite[] {
    return this.writes.filter((w) => w.pin === pin);
  }

  onWrite(listener: (w: OutputWrite) => void): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  get openPins(): number[] {
    return [...this.outputs.keys(), ...this.inputs.keys()];
  }

  close(): void {
    for (const input of this.inputs.values()) input.debouncer.cancel();
    this.outputs.clear();
    this.inputs.clear();
  }

  private record(pin: number, value: 0 | 1): void {
    const activeLow = this.outputs.get(pin)?.activeLow ?? false;
    const w: OutputWrite = {
      pin,
      value,
      raw: activeLow ? ((1 - value) as 0 | 1) : value,
      monoMs: this.monoMs(),
    };
    this.writes.push(w);
    if (this.writes.length > this.maxWrites)
      this.writes.splice(0, this.writes.length - this.maxWrites);
    for (const l of this.writeListeners) l(w);
  }
}
