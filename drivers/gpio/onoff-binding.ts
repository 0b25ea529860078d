import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { Direction, Edge, Gpio as OnoffGpio, Options } from 'onoff';
import { EdgeError } from '../../edge/errors.js';
import type {
  EdgeListener,
  GpioBinding,
  GpioInput,
  GpioInputOptions,
  GpioOutput,
  GpioOutputOptions,
  GpioTimers,
} from './binding.js';
import { Debouncer } from './debounce.js';
import {
  DEFAULT_SYSFS_ROOT,
  findHeaderChip,
  gpioErrorFrom,
  sysfsNumber,
  type GpioChipInfo,
} from './sysfs-chip.js';

/**
 * Raspberry Pi GPIO through onoff (sysfs). Loaded only in the gate-controller process's main
 * thread (onoff's epoll addon is not context-aware: never in a worker thread).
 *
 * - BCM pin N is opened as sysfs GPIO base + N, the base read from the header chip's label.
 * - Active-low is sysfs's `active_low`, so values and edges are logical. An output is opened
 *   with direction "high"/"low" (one glitch-free write of the RAW level, which is why the
 *   initial logical value is inverted here for active-low pins), then its logical value written.
 * - Inputs watch both edges through epoll; the timestamp is taken first thing in the callback
 *   and the binding debounces itself (onoff's own debounce delays the callback, so its
 *   timestamp would be late). Where epoll is refused (EPERM on a file that is not a real GPIO
 *   value file) the input is polled every `pollIntervalMs` instead.
 * - close() unexports the pin; the caller writes the safe value first.
 *
 * When the process dies, sysfs keeps every exported pin at its last level (the kernel owns it):
 * see edge/gate/controller/gate-controller-process.ts for what that means and how it is brought back.
 */

export type OnoffGpioClass = new (
  gpio: number,
  direction: Direction,
  edge?: Edge,
  options?: Options,
) => OnoffGpio;

export interface OnoffBindingOptions {
  timers: GpioTimers;
  /** where to look for gpiochip labels and export (onoff itself always uses /sys/class/gpio) */
  sysfsRoot?: string;
  /** use this chip label instead of the pinctrl-* autodetect */
  chipLabel?: string;
  /** input polling period when epoll is not available */
  pollIntervalMs?: number;
  /** injected in tests; the real onoff Gpio class otherwise */
  Gpio?: OnoffGpioClass;
  warn?: (message: string) => void;
}

export async function createOnoffBinding(options: OnoffBindingOptions): Promise<OnoffBinding> {
  const root = options.sysfsRoot ?? DEFAULT_SYSFS_ROOT;
  const chip = findHeaderChip(root, options.chipLabel);
  try {
    accessSync(join(root, 'export'), constants.W_OK);
  } catch (err) {
    throw gpioErrorFrom(err, `GPIO export (${chip.label} base ${chip.base})`, root);
  }
  const Gpio = options.Gpio ?? (await import('onoff')).Gpio;
  return new OnoffBinding(Gpio, chip, options);
}

interface OpenPin {
  gpio: OnoffGpio;
  stop: () => void;
}

export class OnoffBinding implements GpioBinding {
  readonly name = 'onoff';
  private readonly open = new Map<number, OpenPin>();
  private readonly root: string;
  readonly detail: string;

  constructor(
    private readonly Gpio: OnoffGpioClass,
    readonly chip: GpioChipInfo,
    private readonly options: OnoffBindingOptions,
  ) {
    this.root = options.sysfsRoot ?? DEFAULT_SYSFS_ROOT;
    this.detail = `${chip.chip} ${chip.label} base ${chip.base}`;
  }

  private describe(pin: number): string {
    return `BCM ${pin} (gpio${this.chip.base + pin} on ${this.chip.label})`;
  }

  private claim(pin: number): number {
    const n = sysfsNumber(this.chip, pin);
    if (this.open.has(pin))
      throw new EdgeError('EDGE_GPIO_PIN_BUSY', `${this.describe(pin)} is already open here`);
    return n;
  }

  private construct(n: number, pin: number, direction: Direction, edge: Edge, o: Options) {
    try {
      return new this.Gpio(n, direction, edge, o);
    } catch (err) {
      throw gpioErrorFrom(err, this.describe(pin), this.root);
    }
  }

  openOutput(pin: number, options: GpioOutputOptions): GpioOutput {
    const n = this.claim(pin);
    const raw = options.activeLow ? 1 - options.initial : options.initial;
    const gpio = this.construct(n, pin, raw === 1 ? 'high' : 'low', 'none', {
      activeLow: options.activeLow,
      reconfigureDirection: true,
    });
    const entry: OpenPin = { gpio, stop: () => undefined };
    this.open.set(pin, entry);
    const what = this.describe(pin);
    const output: GpioOutput = {
      pin,
      write: (value) => {
        try {
          gpio.writeSync(value);
        } catch (err) {
          throw gpioErrorFrom(err, what, this.root);
        }
      },
      read: () => gpio.readSync(),
      close: () => this.release(pin),
    };
    try {
      // a pin exported before (by us before a crash, or by someone else) keeps its old
      // direction if sysfs refused the reconfiguration: this write finds out
      output.write(options.initial);
    } catch (err) {
      this.release(pin);
      throw err;
    }
    return output;
  }

  openInput(pin: number, options: GpioInputOptions, onEdge: EdgeListener): GpioInput {
    const n = this.claim(pin);
    const gpio = this.construct(n, pin, 'in', 'both', { activeLow: options.activeLow });
    const timers = this.options.timers;
    let initial: 0 | 1;
    try {
      initial = gpio.readSync();
    } catch (err) {
      gpio.unexport();
      throw gpioErrorFrom(err, this.describe(pin), this.root);
    }
    const debouncer = new Debouncer(initial, options.debounceMs, timers, onEdge);
    const entry: OpenPin = { gpio, stop: () => debouncer.cancel() };
    this.open.set(pin, entry);
    try {
      gpio.watch((err, value) => {
        const mono = timers.monoMs(); // first thing: the edge's timestamp
        if (err) return;
        debouncer.sample(value, mono);
      });
    } catch (err) {
      // epoll refused (not a real GPIO value file, or no interrupt on this line): poll.
      // onoff kept the listener although epoll refused it: drop it (unwatchAll clears the list,
      // then fails again on epoll) so that unexport later does not trip over it
      try {
        gpio.unwatchAll();
      } catch {
        /* expected: the same epoll refusal */
      }
      const every = this.options.pollIntervalMs ?? 2;
      this.options.warn?.(
        `${this.describe(pin)}: edge interrupts unavailable (${(err as Error).message}); polling every ${every} ms`,
      );
      let handle: unknown = null;
      const poll = () => {
        let value: 0 | 1;
        try {
          value = gpio.readSync();
        } catch {
          value = debouncer.value;
        }
        debouncer.sample(value, timers.monoMs());
        handle = timers.setTimeout(poll, every);
      };
      handle = timers.setTimeout(poll, every);
      entry.stop = () => {
        timers.clearTimeout(handle);
        debouncer.cancel();
      };
    }
    return { pin, read: () => debouncer.value, close: () => this.release(pin) };
  }

  private release(pin: number): void {
    const entry = this.open.get(pin);
    if (!entry) return;
    this.open.delete(pin);
    entry.stop();
    entry.gpio.unexport();
  }

  close(): void {
    for (const pin of [...this.open.keys()]) {
      try {
        this.release(pin);
      } catch (err) {
        this.options.warn?.(`${this.describe(pin)}: unexport failed: ${(err as Error).message}`);
      }
    }
  }
}
