/**
 * The GPIO hardware seam. The gate-controller process talks only to this interface; the onoff
 * backend (Raspberry Pi sysfs) and the simulated backend plug in the same place.
 * Values are logical: 1 = active (gate diverting, light on, beam blocked, E-stop pressed),
 * whatever the wiring; active-low is the binding's business.
 * Pins are BCM numbers; a binding maps them to its own numbering (sysfs: chip base + pin).
 */
export interface GpioOutputOptions {
  activeLow: boolean;
  /** the logical value written when the pin is opened (the output's safe value) */
  initial: 0 | 1;
}

export interface GpioInputOptions {
  activeLow: boolean;
  /** a level must hold this long to count; the edge keeps the time of its first transition */
  debounceMs: number;
}

export interface GpioOutput {
  readonly pin: number;
  write(value: 0 | 1): void;
  read(): 0 | 1;
  /** release the pin (sysfs: unexport); the caller writes the safe value first */
  close(): void;
}

export interface GpioInput {
  readonly pin: number;
  /** the debounced logical level */
  read(): 0 | 1;
  close(): void;
}

/** A debounced edge: the new logical level and the monotonic ms of its first raw transition. */
export type EdgeListener = (value: 0 | 1, monoMs: number) => void;

export interface GpioBinding {
  readonly name: string;
  /** what the binding drives, for health (e.g. the sysfs chip and its base) */
  readonly detail?: string;
  openOutput(pin: number, options: GpioOutputOptions): GpioOutput;
  openInput(pin: number, options: GpioInputOptions, onEdge: EdgeListener): GpioInput;
  /** close every pin still open */
  close(): void;
}

/** Timers the bindings use for debouncing and polling (injected in tests). */
export interface GpioTimers {
  monoMs(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realGpioTimers = (monoMs: () => number): GpioTimers => ({
  monoMs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
});
