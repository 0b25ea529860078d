import { EventEmitter } from 'node:events';

/** A thin typed wrapper over EventEmitter: `TypedEmitter<{ signal: [LineSignal] }>`. */
type Args<T> = T extends unknown[] ? T : never;

export class TypedEmitter<Events> {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(50);
  }

  on<K extends keyof Events & string>(
    event: K,
    listener: (...args: Args<Events[K]>) => void,
  ): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof Events & string>(
    event: K,
    listener: (...args: Args<Events[K]>) => void,
  ): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof Events & string>(
    event: K,
    listener: (...args: Args<Events[K]>) => void,
  ): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  protected emit<K extends keyof Events & string>(event: K, ...args: Args<Events[K]>): boolean {
    return this.emitter.emit(event, ...args);
  }

  removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}
