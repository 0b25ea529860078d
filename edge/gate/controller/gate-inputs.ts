import type { GpioBinding, GpioInput, GpioTimers } from '../../../drivers/gpio/binding.js';
import { SimulatedGpioBinding } from '../../../drivers/gpio/simulated-binding.js';
import { EdgeError } from '../../errors.js';
import type { FromController, InputRole, InputSpec } from '../protocol.js';

/**
 * The controller's inputs: photo-eyes, E-stop, line running, maintenance key switch, a low-rate
 * encoder. Every debounced edge goes first to the scheduler (E-stop -> safe state, presence ->
 * release a held gate) in this process, then to the gateway with its early timestamp.
 * The encoder counts rising edges and reports the count at most every reportIntervalMs.
 */
export type LocalInputHandler = (
  input: string,
  role: InputRole,
  value: 0 | 1,
  mono: number,
) => void;

interface Encoder {
  count: number;
  lastMono: number;
  lastSent: number;
  timer: unknown;
}

export class ControllerInputs {
  private readonly open = new Map<string, { spec: InputSpec; input: GpioInput }>();
  private readonly encoders = new Map<string, Encoder>();

  constructor(
    private readonly binding: GpioBinding,
    private readonly specs: readonly InputSpec[],
    private readonly timers: GpioTimers,
    private readonly local: LocalInputHandler,
    private readonly send: (msg: FromController) => void,
  ) {}

  /** Open every input; returns their debounced levels. Closes what it opened on failure. */
  start(): Record<string, 0 | 1> {
    try {
      for (const spec of this.specs) {
        const input = this.binding.openInput(
          spec.pin,
          { activeLow: spec.activeLow, debounceMs: spec.debounceMs },
          (value, mono) => this.onEdge(spec, value, mono),
        );
        this.open.set(spec.id, { spec, input });
        if (spec.role === 'encoder')
          this.encoders.set(spec.id, { count: 0, lastMono: 0, lastSent: -Infinity, timer: null });
      }
    } catch (err) {
      this.close();
      throw err;
    }
    return this.levels();
  }

  levels(): Record<string, 0 | 1> {
    const out: Record<string, 0 | 1> = {};
    for (const [id, { input }] of this.open) out[id] = input.read();
    return out;
  }

  level(id: string): 0 | 1 | undefined {
    return this.open.get(id)?.input.read();
  }

  /** Simulated binding only: drive an input as its sensor would. */
  simulate(id: string, value: 0 | 1): void {
    const entry = this.open.get(id);
    if (!entry) throw new EdgeError('EDGE_GPIO_CONFIG', `no input '${id}'`);
    if (!(this.binding instanceof SimulatedGpioBinding))
      throw new EdgeError('EDGE_GPIO_CONFIG', 'inputs can only be driven on the simulated binding');
    this.binding.setInput(entry.spec.pin, value);
  }

  private onEdge(spec: InputSpec, value: 0 | 1, mono: number): void {
    this.local(spec.id, spec.role, value, mono);
    if (spec.role !== 'encoder') {
      this.send({ t: 'edge', input: spec.id, value, mono });
      return;
    }
    const enc = this.encoders.get(spec.id);
    if (!enc || value !== 1) return;
    enc.count++;
    enc.lastMono = mono;
    if (enc.timer !== null) return;
    const wait = enc.lastSent + spec.reportIntervalMs - this.timers.monoMs();
    if (wait <= 0) this.reportEncoder(spec.id, enc);
    else
      enc.timer = this.timers.setTimeout(() => {
        enc.timer = null;
        this.reportEncoder(spec.id, enc);
      }, wait);
  }

  private reportEncoder(id: string, enc: Encoder): void {
    enc.lastSent = this.timers.monoMs();
    this.send({ t: 'encoder', input: id, count: enc.count, mono: enc.lastMono });
  }

  close(): void {
    for (const enc of this.encoders.values())
      if (enc.timer !== null) this.timers.clearTimeout(enc.timer);
    this.encoders.clear();
    for (const { input } of this.open.values()) {
      try {
        input.close();
      } catch {
        /* unexport of a pin that is gone */
      }
    }
    this.open.clear();
  }
}
