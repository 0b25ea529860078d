import type { GpioBinding, GpioOutput, GpioTimers } from '../../../drivers/gpio/binding.js';
import type {
  ControllerSettings,
  ControllerState,
  FromController,
  InputRole,
  OutputSpec,
} from '../protocol.js';

/**
 * The real-time core of the gate-controller process.
 * - Holds the schedule (one queue sorted by time, one timer): the timer wakes `spinBeforeMs`
 *   early, then a busy-wait reaches the exact moment (timers are late by milliseconds).
 * - Gates: pulse (active for pulseMs), hold (until released, at most maxHoldMs), hold while
 *   present (until the presence photo-eye clears once per fire, at most maxHoldMs). A command
 *   later than maxLateMs is refused: the parcel goes straight on, to inspection (fail-safe).
 * - Safe state: every output at its safe value, the schedule dropped (each command reported
 *   failed), the hardware watchdog output stops toggling. Entered while any reason holds:
 *   no heartbeat from the gateway, E-stop input, a command from the gateway, shutdown.
 * - Lamps and beacon follow the gateway's requests; in the safe state they show their safe
 *   value (and, while the gateway is still alive, its requests too).
 * Clock and timers are injected so tests drive it with a manual clock.
 */

export interface SchedulerTimers extends GpioTimers {
  /** busy-wait until the monotonic time (tests move their clock instead) */
  spinUntil?(mono: number): void;
}

interface Scheduled {
  id: number;
  output: string;
  atMono: number;
  parcelId: string | null;
  holdMs: number | undefined;
  receivedMono: number;
}

interface Channel {
  spec: OutputSpec;
  out: GpioOutput;
  value: 0 | 1;
  requested: 0 | 1;
  release: unknown;
  holdCount: number;
  toggler: unknown;
}

export type SafeReason = 'heartbeat' | 'estop' | 'commanded' | 'shutdown' | 'error';

export class GateScheduler {
  private readonly channels = new Map<string, Channel>();
  private readonly queue: Scheduled[] = [];
  private timer: unknown = null;
  private state: ControllerState = 'starting';
  private readonly safeReasons = new Map<SafeReason, string>();
  private lastHeartbeat: number;
  /** the gateway's first heartbeat arrived: until then the controller stays `starting` */
  private heardGateway = false;
  private readonly presence = new Map<string, string[]>(); // input id -> gate ids

  constructor(
    binding: GpioBinding,
    private readonly settings: ControllerSettings,
    private readonly timers: SchedulerTimers,
    private readonly send: (msg: FromController) => void,
  ) {
    this.lastHeartbeat = timers.monoMs();
    try {
      for (const spec of settings.outputs) {
        const out = binding.openOutput(spec.pin, {
          activeLow: spec.activeLow,
          initial: spec.safeValue,
        });
        this.channels.set(spec.id, {
          spec,
          out,
          value: spec.safeValue,
          requested: 0,
          release: null,
          holdCount: 0,
          toggler: null,
        });
        if (spec.presenceInput) {
          const gates = this.presence.get(spec.presenceInput) ?? [];
          gates.push(spec.id);
          this.presence.set(spec.presenceInput, gates);
        }
      }
    } catch (err) {
      this.closeOutputs();
      throw err;
    }
  }

  get currentState(): ControllerState {
    return this.state;
  }

  get pendingCount(): number {
    return this.queue.length;
  }

  get reasons(): string[] {
    return [...this.safeReasons.keys()];
  }

  outputValue(id: string): 0 | 1 | undefined {
    return this.channels.get(id)?.value;
  }

  /**
   * Outputs are open and the inputs read. The controller arms on the gateway's first heartbeat
   * (a gateway still starting is not a hung one); until then it stays `starting`: outputs safe,
   * fire commands refused (the parcel goes straight on, to inspection), no heartbeat judged.
   */
  begin(): void {
    this.updateState('configured');
  }

  heartbeat(): void {
    this.lastHeartbeat = this.timers.monoMs();
    if (!this.heardGateway) {
      this.heardGateway = true;
      this.updateState('first heartbeat from the gateway');
      return;
    }
    this.clearSafe('heartbeat', 'heartbeat resumed');
  }

  /** Called periodically: no heartbeat for safeStateAfterMs (once armed) -> safe state. */
  checkHeartbeat(): void {
    if (!this.heardGateway) return;
    const silent = this.timers.monoMs() - this.lastHeartbeat;
    if (silent > this.settings.safeStateAfterMs && !this.safeReasons.has('heartbeat'))
      this.goSafe('heartbeat', `no heartbeat from the gateway for ${Math.round(silent)} ms`);
  }

  fire(id: number, output: string, atMono: number, parcelId: string | null, holdMs?: number): void {
    const fail = (error: string) => this.send({ t: 'failed', id, output, parcelId, error });
    const ch = this.channels.get(output);
    if (!ch || ch.spec.kind !== 'gate') return fail(`unknown gate output '${output}'`);
    if (this.state !== 'armed') return fail(`controller is ${this.state} (${this.reasonText()})`);
    const receivedMono = this.timers.monoMs();
    const late = receivedMono - atMono;
    if (late > this.settings.maxLateMs)
      return fail(
        `command arrived ${late.toFixed(1)} ms after its time (max ${this.settings.maxLateMs})`,
      );
    const entry: Scheduled = { id, output, atMono, parcelId, holdMs, receivedMono };
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.atMono > atMono) i--;
    this.queue.splice(i, 0, entry);
    if (i === 0) this.armTimer();
  }

  cancel(id: number): boolean {
    const i = this.queue.findIndex((e) => e.id === id);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    if (i === 0) this.armTimer();
    this.send({ t: 'cancelled', id });
    return true;
  }

  /** Release a held gate now (hold mode, or a technician's release). */
  release(output: string, reason: string): void {
    const ch = this.channels.get(output);
    if (!ch || ch.spec.kind !== 'gate' || ch.value === ch.spec.safeValue) return;
    this.releaseGate(ch, reason);
  }

  /** Lamps and beacon: what the gateway wants shown. */
  set(output: string, value: 0 | 1): boolean {
    const ch = this.channels.get(output);
    if (!ch || (ch.spec.kind !== 'lamp' && ch.spec.kind !== 'beacon')) return false;
    ch.requested = value;
    this.showLamp(ch);
    return true;
  }

  /** Debounced input edges, handled here first (the real-time part), then sent on. */
  onInput(input: string, role: InputRole, value: 0 | 1): void {
    if (role === 'estop') {
      if (value === 1) this.goSafe('estop', `E-stop ${input} pressed`);
      else this.clearSafe('estop', `E-stop ${input} released`);
    }
    if (value === 0) {
      for (const gate of this.presence.get(input) ?? []) {
        const ch = this.channels.get(gate);
        if (!ch || ch.holdCount === 0 || ch.spec.mode !== 'hold-while-present') continue;
        ch.holdCount--;
        if (ch.holdCount === 0) this.releaseGate(ch, `parcel left ${input}`);
      }
    }
  }

  goSafe(key: SafeReason, reason: string): void {
    const first = this.safeReasons.size === 0;
    this.safeReasons.set(key, reason);
    for (const entry of this.queue.splice(0)) {
      this.send({
        t: 'failed',
        id: entry.id,
        output: entry.output,
        parcelId: entry.parcelId,
        error: `safe state: ${reason}`,
      });
    }
    this.clearTimer();
    for (const ch of this.channels.values()) {
      this.stopToggler(ch);
      if (ch.spec.kind === 'gate') {
        this.clearRelease(ch);
        ch.holdCount = 0;
        if (ch.value !== ch.spec.safeValue) this.write(ch, ch.spec.safeValue);
      } else if (ch.spec.kind === 'watchdog') {
        this.write(ch, 0);
      } else this.showLamp(ch);
    }
    if (first || this.state !== 'safe') this.updateState(reason);
    else this.announce(reason);
  }

  clearSafe(key: SafeReason, reason: string): void {
    if (!this.safeReasons.delete(key)) return;
    this.updateState(reason);
  }

  private reasonText(): string {
    return (
      [...this.safeReasons.values()].join('; ') ||
      (this.heardGateway ? 'starting' : 'waiting for the first heartbeat from the gateway')
    );
  }

  private updateState(reason: string): void {
    const next: ControllerState =
      this.safeReasons.size > 0 ? 'safe' : this.heardGateway ? 'armed' : 'starting';
    if (next === this.state) {
      if (next === 'safe') this.announce(reason);
      return;
    }
    this.state = next;
    if (next === 'armed') {
      for (const ch of this.channels.values()) {
        if (ch.spec.kind === 'watchdog') this.startToggler(ch);
        else if (ch.spec.kind !== 'gate') this.showLamp(ch);
      }
    }
    this.announce(reason);
  }

  private announce(reason: string): void {
    this.send({ t: 'state', state: this.state, reason, reasons: this.reasons });
  }

  private armTimer(): void {
    this.clearTimer();
    const head = this.queue[0];
    if (!head) return;
    const delay = head.atMono - this.settings.spinBeforeMs - this.timers.monoMs();
    this.timer = this.timers.setTimeout(() => this.run(), Math.max(0, delay));
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    this.timer = null;
    for (;;) {
      const head = this.queue[0];
      if (!head || this.state !== 'armed') break;
      if (head.atMono - this.timers.monoMs() > this.settings.spinBeforeMs) break;
      this.spinUntil(head.atMono);
      this.queue.shift();
      this.execute(head);
    }
    this.armTimer();
  }

  private spinUntil(mono: number): void {
    if (this.timers.spinUntil) return this.timers.spinUntil(mono);
    while (this.timers.monoMs() < mono) {
      /* the last moments: a busy-wait is on time, a timer is not */
    }
  }

  private execute(entry: Scheduled): void {
    const ch = this.channels.get(entry.output)!;
    const fail = (error: string) =>
      this.send({
        t: 'failed',
        id: entry.id,
        output: entry.output,
        parcelId: entry.parcelId,
        error,
      });
    const late = this.timers.monoMs() - entry.atMono;
    if (late > this.settings.maxLateMs)
      return fail(`fired ${late.toFixed(1)} ms late (max ${this.settings.maxLateMs}): not fired`);
    const active: 0 | 1 = ch.spec.safeValue === 1 ? 0 : 1;
    const error = this.write(ch, active);
    const actual = this.timers.monoMs();
    if (error) return fail(error);
    this.clearRelease(ch);
    const { mode, pulseMs, maxHoldMs } = ch.spec;
    if (entry.holdMs !== undefined || mode === 'pulse') {
      ch.holdCount = 0;
      this.scheduleRelease(ch, entry.holdMs ?? pulseMs, 'pulse end');
    } else {
      if (mode === 'hold-while-present') ch.holdCount++;
      this.scheduleRelease(ch, maxHoldMs, `held for maxHoldMs ${maxHoldMs}`);
    }
    this.send({
      t: 'fired',
      id: entry.id,
      output: entry.output,
      parcelId: entry.parcelId,
      scheduledMono: entry.atMono,
      actualMono: actual,
      receivedMono: entry.receivedMono,
    });
  }

  private scheduleRelease(ch: Channel, ms: number, reason: string): void {
    ch.release = this.timers.setTimeout(() => {
      ch.release = null;
      this.releaseGate(ch, reason);
    }, ms);
  }

  private clearRelease(ch: Channel): void {
    if (ch.release !== null) this.timers.clearTimeout(ch.release);
    ch.release = null;
  }

  private releaseGate(ch: Channel, reason: string): void {
    this.clearRelease(ch);
    ch.holdCount = 0;
    this.write(ch, ch.spec.safeValue);
    this.send({ t: 'released', output: ch.spec.id, mono: this.timers.monoMs(), reason });
  }

  /** Lamp / beacon value: requests while armed; safe value (plus live requests) when safe. */
  private showLamp(ch: Channel): void {
    const gatewayAlive = !this.safeReasons.has('heartbeat') && !this.safeReasons.has('shutdown');
    const want: 0 | 1 =
      this.safeReasons.size === 0
        ? ch.requested
        : gatewayAlive
          ? ((ch.requested | ch.spec.safeValue) as 0 | 1)
          : ch.spec.safeValue;
    this.stopToggler(ch);
    if (ch.spec.kind === 'beacon' && want === 1 && ch.spec.periodMs > 0) this.startToggler(ch);
    else if (ch.value !== want) this.write(ch, want);
  }

  private startToggler(ch: Channel): void {
    this.stopToggler(ch);
    const tick = () => {
      this.write(ch, ch.value === 1 ? 0 : 1);
      ch.toggler = this.timers.setTimeout(tick, ch.spec.periodMs);
    };
    tick();
  }

  private stopToggler(ch: Channel): void {
    if (ch.toggler !== null) this.timers.clearTimeout(ch.toggler);
    ch.toggler = null;
  }

  /** Write one output; returns the error text (also reported) or null. */
  private write(ch: Channel, value: 0 | 1): string | null {
    try {
      ch.out.write(value);
    } catch (err) {
      const error = `cannot write ${ch.spec.id}: ${(err as Error).message}`;
      this.send({ t: 'error', error, code: (err as { code?: string }).code ?? 'EDGE_GPIO_IO' });
      return error;
    }
    ch.value = value;
    if (this.settings.reportWrites)
      this.send({ t: 'output', output: ch.spec.id, value, mono: this.timers.monoMs() });
    return null;
  }

  private closeOutputs(): void {
    for (const ch of this.channels.values()) {
      try {
        ch.out.close();
      } catch {
        /* a pin that is already gone needs no unexport */
      }
    }
    this.channels.clear();
  }

  /** Safe state, then release every output pin (the binding unexports it). */
  close(): void {
    this.goSafe('shutdown', 'shutdown');
    this.closeOutputs();
  }
}
