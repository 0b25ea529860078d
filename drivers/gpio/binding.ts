/**
 * The GPIO hardware seam. The gate-controller process talks only to this interface; the onoff
 * backend (Raspberry Pi sysfs) and the simulated backend plug in the same place.
 * Values are logical: 1 = active (gate diverting, light on, beam blocked), whatever the wiring;
 * active-low is the binding's business.
 */
export interface GpioOutputOptions {
  activeLow: boolean;
  /** the logical value written when the pin is opened */
  initial: 0 | 1;
}

export interface GpioInputOptions {
  activeLow: boolean;
  debounceMs: number;
}

export interface GpioOutput {
  readonly pin: number;
  write(value: 0 | 1): void;
  read(): 0 | 1;
  close(): void;
}

export interface GpioInput {
  readonly pin: number;
  read(): 0 | 1;
  close(): void;
}

export type EdgeListener = (value: 0 | 1, monoMs: number) => void;

export interface GpioBinding {
  readonly name: string;
  openOutput(pin: number, options: GpioOutputOptions): GpioOutput;
  openInput(pin: number, options: GpioInputOptions, onEdge: EdgeListener): GpioInput;
  close(): void;
}
