import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../edge/clock.js';
import type { EngineInput } from '../edge/engine/types.js';
import { EdgeError } from '../edge/errors.js';
import { TypedEmitter } from './typed-emitter.js';

/**
 * The Driver contract shared by OPC UA, serial, GPIO and the simulators.
 * - start() is idempotent: calling it again while starting or running returns the same promise.
 * - stop() returns one shared promise and clears every timer and handle the driver owns.
 * - Events are typed (`signal` carries line signals to the engine, `health` every state change).
 * - health() is a snapshot; a driver that fails is reported there and never throws into others.
 */

export type DriverState = 'stopped' | 'starting' | 'running' | 'degraded' | 'failed' | 'stopping';

export interface DriverHealth {
  id: string;
  kind: string;
  state: DriverState;
  /** wall-clock ISO time of the last state change */
  since: string;
  lastError: { code: string; message: string } | null;
  counters: Record<string, number>;
  details: Record<string, unknown>;
}

/** What drivers deliver to the line engine. Later issues add weight, speed, life bits. */
export type LineSignal = EngineInput;

/**
 * Something a technician must hear about that is not a state change: values a device lost
 * (a server queue overflow), a limit hit. The gateway records it as an `alarm.driver` event.
 */
export interface DriverAlarm {
  /** an EdgeError code (edge/errors.ts) */
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export interface DriverEvents {
  signal: [LineSignal];
  health: [DriverHealth];
  alarm: [DriverAlarm];
}

export interface Driver<E extends DriverEvents = DriverEvents> extends TypedEmitter<E> {
  readonly id: string;
  readonly kind: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): DriverHealth;
}

export interface DriverContext {
  log: Logger;
  clock: Clock;
}

/**
 * Base class doing the lifecycle bookkeeping so each driver writes only onStart/onStop.
 * Timers made through `setTimer`/`setRepeating` are cleared on stop automatically.
 */
export abstract class BaseDriver<E extends DriverEvents = DriverEvents>
  extends TypedEmitter<E>
  implements Driver<E>
{
  private state: DriverState = 'stopped';
  private sinceMs: number;
  private lastError: { code: string; message: string } | null = null;
  private startPromise: Promise<void> | null = null;
  private stopPromise: Promise<void> | null = null;
  private readonly timers = new Set<TimerHandle>();
  protected readonly counters: Record<string, number> = {};
  protected readonly log: Logger;
  protected readonly clock: Clock;

  constructor(
    readonly id: string,
    readonly kind: string,
    ctx: DriverContext,
  ) {
    super();
    this.log = ctx.log.child({ driver: id, kind });
    this.clock = ctx.clock;
    this.sinceMs = ctx.clock.wallMs();
  }

  protected abstract onStart(): Promise<void>;
  protected abstract onStop(): Promise<void>;
  protected healthDetails(): Record<string, unknown> {
    return {};
  }

  start(): Promise<void> {
    if (this.stopPromise) {
      return Promise.reject(
        new EdgeError('EDGE_DRIVER_START_FAILED', `driver ${this.id} is stopping or stopped`),
      );
    }
    if (!this.startPromise) {
      this.setState('starting');
      this.startPromise = this.onStart().then(
        () => {
          if (this.state === 'starting') this.setState('running');
        },
        (err: unknown) => {
          this.fail(err);
          throw err;
        },
      );
    }
    return this.startPromise;
  }

  stop(): Promise<void> {
    if (!this.stopPromise) {
      const wasStarted = this.startPromise !== null;
      this.setState('stopping');
      this.stopPromise = (async () => {
        for (const t of this.timers) this.clock.clearTimer(t);
        this.timers.clear();
        if (wasStarted) {
          try {
            await this.onStop();
          } catch (err) {
            this.log.warn({ err }, 'driver stop failed');
          }
        }
        for (const t of this.timers) this.clock.clearTimer(t);
        this.timers.clear();
        this.setState('stopped');
      })();
    }
    return this.stopPromise;
  }

  get isStopping(): boolean {
    return this.stopPromise !== null;
  }

  health(): DriverHealth {
    return {
      id: this.id,
      kind: this.kind,
      state: this.state,
      since: new Date(this.sinceMs).toISOString(),
      lastError: this.lastError,
      counters: { ...this.counters },
      details: this.healthDetails(),
    };
  }

  protected count(name: string, by = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + by;
  }

  protected setState(state: DriverState): void {
    if (this.state === state) return;
    this.state = state;
    this.sinceMs = this.clock.wallMs();
    // health listeners must not break the driver
    try {
      (this.emit as (e: 'health', h: DriverHealth) => boolean)('health', this.health());
    } catch (err) {
      this.log.error({ err }, 'health listener threw');
    }
  }

  protected get currentState(): DriverState {
    return this.state;
  }

  /** Record an error; the driver is degraded (still trying) or failed (given up). */
  protected fail(err: unknown, state: 'degraded' | 'failed' = 'failed'): void {
    const code = err instanceof EdgeError ? err.code : ((err as { code?: string }).code ?? 'ERROR');
    const message = err instanceof Error ? err.message : String(err);
    this.lastError = { code: String(code), message };
    // degraded: still trying on its own (a warning); failed: given up, a technician must act
    if (state === 'degraded') this.log.warn({ err }, 'driver degraded');
    else this.log.error({ err }, 'driver error');
    if (!this.stopPromise) this.setState(state);
  }

  protected recover(): void {
    if (!this.stopPromise && this.state !== 'running') this.setState('running');
  }

  protected raiseAlarm(alarm: DriverAlarm): void {
    this.count(`alarm.${alarm.code}`);
    this.log.error({ code: alarm.code, ...alarm.details }, alarm.message);
    try {
      (this.emit as (e: 'alarm', a: DriverAlarm) => boolean)('alarm', alarm);
    } catch (err) {
      this.log.error({ err }, 'alarm listener threw');
    }
  }

  protected emitSignal(signal: LineSignal): void {
    this.count(`signal.${signal.type}`);
    (this.emit as (e: 'signal', s: LineSignal) => boolean)('signal', signal);
  }

  /** A timer through the clock (the timer seam), cleared by stop(). */
  protected setTimer(fn: () => void, ms: number): TimerHandle {
    const t = this.clock.setTimer(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  protected setRepeating(fn: () => void, ms: number): TimerHandle {
    const t = this.clock.setRepeatingTimer(fn, ms);
    this.timers.add(t);
    return t;
  }

  protected clearTimer(t: TimerHandle | null | undefined): void {
    if (!t) return;
    this.clock.clearTimer(t);
    this.timers.delete(t);
  }
}
