import type { GpioBinding, GpioOutput } from '../../drivers/gpio/binding.js';
import type { ControllerSettings, ControllerState, FromController } from './protocol.js';

/**
 * The real-time core of the gate-controller process: holds the schedule, fires outputs at their
 * time (timer, then a short spin to the exact moment), returns outputs to their safe state when
 * the gateway's heartbeat stops. Clock and timers are injected so tests can drive it.
 */

export interface SchedulerTimers {
  monoMs(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

interface Scheduled {
  id: number;
  output: string;
  atMono: number;
  parcelId: string | null;
  handle: unknown;
}

export class GateScheduler {
  private readonly outputs = new Map<string, { out: GpioOutput; pulseMs: number; safe: 0 | 1 }>();
  private readonly scheduled = new Map<number, Scheduled>();
  private readonly releases = new Map<string, unknown>();
  private state: ControllerState = 'starting';
  private lastHeartbeat: number;

  constructor(
    private readonly binding: GpioBinding,
    private readonly settings: ControllerSettings,
    private readonly timers: SchedulerTimers,
    private readonly send: (msg: FromController) => void,
  ) {
    this.lastHeartbeat = timers.monoMs();
    for (const o of settings.outputs) {
      const out = binding.openOutput(o.pin, { activeLow: o.activeLow, initial: o.safeValue });
      this.outputs.set(o.id, { out, pulseMs: o.pulseMs, safe: o.safeValue });
    }
    this.setState('armed', 'configured');
  }

  get currentState(): ControllerState {
    return this.state;
  }

  get pendingCount(): number {
    return this.scheduled.size;
  }

  heartbeat(): void {
    this.lastHeartbeat = this.timers.monoMs();
    if (this.state === 'safe') this.setState('armed', 'heartbeat resumed');
  }

  /** Called periodically: no heartbeat for safeStateAfterMs -> safe state. */
  checkHeartbeat(): void {
    const silent = this.timers.monoMs() - this.lastHeartbeat;
    if (this.state === 'armed' && silent > this.settings.safeStateAfterMs) {
      this.goSafe(`no heartbeat from the gateway for ${Math.round(silent)} ms`);
    }
  }

  fire(id: number, output: string, atMono: number, parcelId: string | null): void {
    const target = this.outputs.get(output);
    if (!target) {
      this.send({ t: 'failed', id, output, parcelId, error: `unknown output '${output}'` });
      return;
    }
    if (this.state !== 'armed') {
      this.send({ t: 'failed', id, output, parcelId, error: `controller is ${this.state}` });
      return;
    }
    const delay = atMono - this.settings.spinBeforeMs - this.timers.monoMs();
    const entry: Scheduled = { id, output, atMono, parcelId, handle: null };
    this.scheduled.set(id, entry);
    entry.handle = this.timers.setTimeout(() => this.execute(entry), Math.max(0, delay));
  }

  cancel(id: number): void {
    const entry = this.scheduled.get(id);
    if (!entry) return;
    this.timers.clearTimeout(entry.handle);
    this.scheduled.delete(id);
  }

  private execute(entry: Scheduled): void {
    this.scheduled.delete(entry.id);
    const target = this.outputs.get(entry.output);
    if (!target || this.state !== 'armed') {
      this.send({
        t: 'failed',
        id: entry.id,
        output: entry.output,
        parcelId: entry.parcelId,
        error: `controller is ${this.state}`,
      });
      return;
    }
    // spin the last moments: timers are late by milliseconds, a busy-wait is not
    let now = this.timers.monoMs();
    while (now < entry.atMono) now = this.timers.monoMs();
    try {
      target.out.write(target.safe === 1 ? 0 : 1);
    } catch (err) {
      this.send({
        t: 'failed',
        id: entry.id,
        output: entry.output,
        parcelId: entry.parcelId,
        error: (err as Error).message,
      });
      return;
    }
    const actual = this.timers.monoMs();
    const previous = this.releases.get(entry.output);
    if (previous !== undefined) this.timers.clearTimeout(previous);
    this.releases.set(
      entry.output,
      this.timers.setTimeout(() => {
        this.releases.delete(entry.output);
        this.writeSafe(entry.output);
      }, target.pulseMs),
    );
    this.send({
      t: 'fired',
      id: entry.id,
      output: entry.output,
      parcelId: entry.parcelId,
      scheduledMono: entry.atMono,
      actualMono: actual,
    });
  }

  goSafe(reason: string): void {
    for (const entry of this.scheduled.values()) {
      this.timers.clearTimeout(entry.handle);
      this.send({
        t: 'failed',
        id: entry.id,
        output: entry.output,
        parcelId: entry.parcelId,
        error: `safe state: ${reason}`,
      });
    }
    this.scheduled.clear();
    for (const h of this.releases.values()) this.timers.clearTimeout(h);
    this.releases.clear();
    for (const id of this.outputs.keys()) this.writeSafe(id);
    this.setState('safe', reason);
  }

  private writeSafe(id: string): void {
    const target = this.outputs.get(id);
    if (!target) return;
    try {
      target.out.write(target.safe);
    } catch (err) {
      this.send({
        t: 'error',
        error: `cannot write safe state of ${id}: ${(err as Error).message}`,
      });
    }
  }

  private setState(state: ControllerState, reason: string): void {
    if (this.state === state) return;
    this.state = state;
    this.send({ t: 'state', state, reason });
  }

  /** Safe state, then release every pin. */
  close(): void {
    this.goSafe('shutdown');
    for (const { out } of this.outputs.values()) {
      try {
        out.close();
      } catch {
        /* closing a pin that is gone is not an error worth reporting at shutdown */
      }
    }
    this.outputs.clear();
    this.binding.close();
  }
}
