import type {
  EdgeListener,
  GpioBinding,
  GpioInput,
  GpioInputOptions,
  GpioOutput,
  GpioOutputOptions,
} from './binding.js';

/**
 * A GPIO backend without hardware: outputs record every write with its monotonic timestamp,
 * inputs are driven through `setInput`. Used off-Pi, by the simulated line and by tests.
 */
export interface OutputWrite {
  pin: number;
  value: 0 | 1;
  monoMs: number;
}

export class SimulatedGpioBinding implements GpioBinding {
  readonly name = 'simulated';
  readonly writes: OutputWrite[] = [];
  private readonly outputs = new Map<number, 0 | 1>();
  private readonly inputs = new Map<number, { value: 0 | 1; listener: EdgeListener }>();
  private readonly maxWrites: number;

  constructor(
    private readonly monoMs: () => number,
    options: { maxWrites?: number } = {},
  ) {
    this.maxWrites = options.maxWrites ?? 10_000;
  }

  openOutput(pin: number, options: GpioOutputOptions): GpioOutput {
    if (this.outputs.has(pin) || this.inputs.has(pin)) throw new Error(`pin ${pin} already in use`);
    this.outputs.set(pin, options.initial);
    this.record(pin, options.initial);
    return {
      pin,
      write: (value) => {
        this.outputs.set(pin, value);
        this.record(pin, value);
      },
      read: () => this.outputs.get(pin) ?? 0,
      close: () => {
        this.outputs.delete(pin);
      },
    };
  }

  openInput(pin: number, _options: GpioInputOptions, onEdge: EdgeListener): GpioInput {
    if (this.outputs.has(pin) || this.inputs.has(pin)) throw new Error(`pin ${pin} already in use`);
    this.inputs.set(pin, { value: 0, listener: onEdge });
    return {
      pin,
      read: () => this.inputs.get(pin)?.value ?? 0,
      close: () => {
        this.inputs.delete(pin);
      },
    };
  }

  /** Drive a simulated input; the edge is reported like a real interrupt. */
  setInput(pin: number, value: 0 | 1): void {
    const input = this.inputs.get(pin);
    if (!input) throw new Error(`pin ${pin} is not an open input`);
    if (input.value === value) return;
    input.value = value;
    input.listener(value, this.monoMs());
  }

  outputValue(pin: number): 0 | 1 | undefined {
    return this.outputs.get(pin);
  }

  close(): void {
    this.outputs.clear();
    this.inputs.clear();
  }

  private record(pin: number, value: 0 | 1): void {
    this.writes.push({ pin, value, monoMs: this.monoMs() });
    if (this.writes.length > this.maxWrites)
      this.writes.splice(0, this.writes.length - this.maxWrites);
  }
}
