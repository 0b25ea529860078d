import type { TimerHandle } from '../clock.js';
import type { GatesConfig } from '../../config/schema.js';
import { BaseDriver, type DriverContext, type DriverEvents } from '../../drivers/driver.js';
import { EdgeError } from '../errors.js';
import type { GateCancel, GateCommand } from '../engine/types.js';
import { ControllerChild } from './controller-child.js';
import { realtimeRefusal } from './controller-launch.js';
import { GateCommands, type GateFailed, type GateFired } from './gate-commands.js';
import { InputLevels } from './link-state.js';
import type {
  ControllerSettings,
  ControllerState,
  FromController,
  ToController,
} from './protocol.js';
import { controllerSettingsFrom } from './settings.js';

export type { GateFailed, GateFired } from './gate-commands.js';

/**
 * The gateway's side of the gate-controller process: a Driver like any other. It forks the
 * controller, sends it gate commands with their scheduled time, exchanges heartbeats, turns
 * input edges into engine signals, reports fires (with lateness) and failures, and restarts a
 * controller that died or stopped answering (health: degraded + EDGE_GATE_CONTROLLER_DOWN,
 * `restarts`, and a `restarted` event). The process itself is supervised by ControllerChild
 * (controller-child.ts), the commands out at it are kept by GateCommands (gate-commands.ts).
 */

export interface GateLinkEvents extends DriverEvents {
  fired: [GateFired];
  failed: [GateFailed];
  input: [{ input: string; value: 0 | 1; mono: number }];
  /** every output write, when the link was created with reportWrites */
  output: [{ output: string; value: 0 | 1; mono: number }];
  released: [{ output: string; mono: number; reason: string }];
  controllerState: [{ state: ControllerState; reason: string; reasons: string[] }];
  restarted: [{ pid: number | null; restarts: number; reason: string }];
}

export interface GateLinkOptions {
  /** the controller reports every output write (tests, simulator, bench) */
  reportWrites?: boolean;
  /**
   * Heartbeats (and so arming: the controller arms on the first) begin with start() (default)
   * or only when the owner calls beginHeartbeats(): the gateway does once it runs, so a
   * start-up stall of its event loop cannot send the controller safe.
   */
  heartbeatsFrom?: 'start' | 'owner';
}

export class GateLink extends BaseDriver<GateLinkEvents> {
  private readonly child: ControllerChild;
  private readonly commands: GateCommands;
  private hbTimer: TimerHandle | null = null;
  private heartbeating = false;
  private controllerState: ControllerState = 'starting';
  private safeReasons: string[] = [];
  private realtime = 0;
  private realtimeNote: string | null = null;
  private restarts = 0;
  private chip: string | null = null;
  private nice: number | null = null;
  private readonly inputs = new InputLevels();
  private readonly lampRequests = new Map<string, 0 | 1>();
  private commandedSafe: string | null = null;
  private maintenanceOverride = false;
  private settings: ControllerSettings | null = null;
  /** gates fired by hand whose hold may still be on: pending (sent, not fired yet) or on */
  private readonly handHeld = new Map<string, { pending: boolean; releaseOnFire: boolean }>();

  constructor(
    id: string,
    private readonly config: GatesConfig,
    ctx: DriverContext,
    private readonly options: GateLinkOptions = {},
  ) {
    super(id, 'gate-controller', ctx);
    this.child = new ControllerChild(this.log, this.clock, {
      ready: (msg) => this.onReady(msg),
      message: (msg) => this.onMessage(msg),
      exited: () => {
        this.controllerState = 'starting';
        this.handHeld.clear();
        this.commands.failAll('gate controller exited');
      },
      died: (err) => {
        if (this.isStopping) return;
        this.fail(err, 'degraded');
        this.restartLater(err.message);
      },
    });
    this.commands = new GateCommands({
      count: (name) => this.count(name),
      send: (msg) => this.send(msg),
      fired: (fired) => {
        // the engine fired this gate for a parcel: it is no longer held by hand
        if (fired.parcelId !== null) this.handHeld.delete(fired.gateId);
        this.emit('fired', fired);
      },
      failed: (failed) => this.emit('failed', failed),
    });
  }

  /** Send a gate command; failures come back as `failed` events (never thrown at the engine). */
  schedule(command: GateCommand): void {
    this.commands.dispatch(command, undefined, this.refusal());
  }

  /**
   * Withdraw every command for this parcel on this gate that has not fired yet (line stopped,
   * speed changed, parcel became unknown or suspect). Matched by gate and parcel, not by time:
   * the engine's estimate of the time may have moved since the command was sent. Only commands
   * sent before this call are pending, so a command re-sent after it is not touched. Returns
   * false when nothing was pending (already fired, refused, or lost with a controller restart).
   */
  cancel(cancel: GateCancel): boolean {
    return this.commands.cancel(cancel);
  }

  /**
   * The last check before any hand fire of a gate, whatever asked for it (HTTP jog, platform
   * gate-test, anything added later): returns why not, or null. Set by the gateway from the line
   * engine (parcels tracked up to that gate); without one every hand fire of a gate is refused.
   */
  handFireGuard: ((gateId: string) => string | null) | null = null;

  /** Technician jog: fire a gate now; resolves when it fired, rejects when it did not. */
  jogFire(gateId: string, holdMs?: number): Promise<GateFired> {
    if (this.outputKind(gateId) === 'gate') {
      const refused = this.handFireGuard
        ? this.handFireGuard(gateId)
        : 'no line engine tells whether parcels are at this gate';
      if (refused !== null) return Promise.reject(new EdgeError('EDGE_GPIO_JOG_REFUSED', refused));
    }
    const held = { pending: true, releaseOnFire: false };
    this.handHeld.set(gateId, held);
    const current = () => this.handHeld.get(gateId) === held;
    return this.commands
      .fireAndWait(
        { gateId, parcelId: null, fireAtMono: this.clock.monoMs(), holdMs, immediate: true },
        () => this.refusal(),
      )
      .then(
        (fired) => {
          held.pending = false;
          if (held.releaseOnFire) {
            if (current()) this.handHeld.delete(gateId);
            this.release(gateId);
          }
          return fired;
        },
        (err: unknown) => {
          if (current()) this.handHeld.delete(gateId);
          throw err;
        },
      );
  }

  /**
   * Release every gate fired by hand whose hold may still be on (the line started, a parcel was
   * inducted): a hold allowed on a stopped line must not divert a parcel. A hand fire still on
   * its way to the controller is released as soon as it fired. Returns the outputs released.
   */
  releaseHandHeld(): string[] {
    const outputs = [...this.handHeld.keys()];
    for (const [output, held] of this.handHeld) {
      if (held.pending) held.releaseOnFire = true;
      else this.handHeld.delete(output);
      this.release(output);
    }
    return outputs;
  }

  release(gateId: string): void {
    this.send({ t: 'release', output: gateId });
  }

  /** Lamps (light-green...) and the beacon; remembered and re-sent to a restarted controller. */
  setLight(output: string, on: boolean): void {
    this.lampRequests.set(output, on ? 1 : 0);
    this.send({ t: 'set', output, value: on ? 1 : 0 });
  }

  /** Hold every output safe until arm() (e.g. the gateway knows the line is unsafe). */
  setSafe(reason: string): void {
    this.commandedSafe = reason;
    this.send({ t: 'safe', reason });
  }

  arm(): void {
    this.commandedSafe = null;
    this.send({ t: 'arm' });
  }

  /** Simulated binding only: drive an input in the controller process. */
  simulateInput(input: string, value: 0 | 1): void {
    this.send({ t: 'simInput', input, value });
  }

  setMaintenance(on: boolean): void {
    this.maintenanceOverride = on;
  }

  /** Maintenance mode: the key-switch input, or set through the API. */
  get maintenance(): boolean {
    return this.maintenanceOverride || this.inputs.ofRole('maintenance') === 1;
  }

  /** E-stop input pressed (false when there is none). */
  get estop(): boolean {
    return this.inputs.ofRole('estop') === 1;
  }

  /** The line's run input; null when none is configured. */
  get lineRunning(): boolean | null {
    const level = this.inputs.ofRole('running');
    return level === undefined ? null : level === 1;
  }

  get gateState(): ControllerState {
    return this.child.connected ? this.controllerState : 'starting';
  }

  inputLevel(id: string): 0 | 1 | undefined {
    return this.inputs.level(id);
  }

  outputIds(): string[] {
    return this.settings?.outputs.map((o) => o.id) ?? [];
  }

  outputKind(id: string): string | undefined {
    return this.settings?.outputs.find((o) => o.id === id)?.kind;
  }

  /** How long a jog without holdMs keeps a gate active: its pulse, or its longest hold. */
  jogDefaultMs(id: string): number | undefined {
    const o = this.settings?.outputs.find((x) => x.id === id);
    if (o?.kind !== 'gate') return undefined;
    return o.mode === 'pulse' ? o.pulseMs : o.maxHoldMs;
  }

  /** Why the controller cannot take a fire command now, or null when it can. */
  private refusal(): string | null {
    const connected = this.child.connected;
    if (connected && this.controllerState === 'armed') return null;
    const why = this.safeReasons.length
      ? ` (${this.safeReasons.join(', ')})`
      : connected && this.controllerState === 'starting'
        ? ' (it arms on the first heartbeat from the gateway)'
        : '';
    return `gate controller is ${connected ? this.controllerState : 'not running'}${why}`;
  }

  protected async onStart(): Promise<void> {
    this.settings = controllerSettingsFrom(this.config, {
      reportWrites: this.options.reportWrites ?? false,
    });
    this.inputs.configure(this.settings.inputs);
    if (this.config.realtimePriority > 0) {
      const refusal = realtimeRefusal(this.config.realtimePriority);
      this.realtime = refusal ? 0 : this.config.realtimePriority;
      this.realtimeNote = refusal ? `SCHED_FIFO refused: ${refusal}` : null;
      if (refusal) this.log.warn({ refusal }, 'gate controller runs without real-time priority');
    }
    await this.spawn();
    this.hbTimer = this.setRepeating(() => this.heartbeat(), this.config.heartbeatIntervalMs);
    if (this.options.heartbeatsFrom !== 'owner') await this.beginHeartbeats();
  }

  /**
   * Start sending heartbeats now: the controller arms on the first one. Resolves once it has
   * reported its state (armed, or safe with its reasons: E-stop...), or after 2 s.
   */
  beginHeartbeats(): Promise<void> {
    if (!this.heartbeating) {
      this.heartbeating = true;
      this.send({ t: 'hb', mono: this.clock.monoMs() });
    }
    if (this.gateState !== 'starting') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('controllerState', done);
        resolve();
      };
      const timer = setTimeout(done, 2000);
      this.on('controllerState', done);
    });
  }

  protected async onStop(): Promise<void> {
    this.clearTimer(this.hbTimer);
    await this.child.stop(() => this.commands.failAll('gate link stopped'));
  }

  protected override healthDetails(): Record<string, unknown> {
    return {
      pid: this.child.pid,
      controllerState: this.gateState,
      safeReasons: this.safeReasons,
      restarts: this.restarts,
      lastExit: this.child.lastExit,
      pendingCommands: this.commands.size,
      binding: this.config.binding,
      chip: this.chip,
      nice: this.nice,
      realtimePriority: this.realtime,
      realtimeNote: this.realtimeNote,
      maintenance: this.maintenance,
      ...this.inputs.snapshot(),
      lights: Object.fromEntries(this.lampRequests),
      latenessMs: this.commands.latenessSummary(),
    };
  }

  private spawn(): Promise<void> {
    this.controllerState = 'starting';
    return this.child.spawn(this.settings!, this.realtime);
  }

  private restartLater(reason: string): void {
    this.restarts++;
    this.count('controller.restarts');
    this.setTimer(
      () => {
        if (this.isStopping) return;
        this.spawn().then(
          () => {
            this.log.warn(
              { pid: this.child.pid, restarts: this.restarts, reason },
              'gate controller restarted',
            );
            this.emit('restarted', { pid: this.child.pid, restarts: this.restarts, reason });
            if (this.controllerState === 'armed') this.recover();
          },
          (e: unknown) => {
            this.fail(e, 'degraded');
            this.restartLater((e as Error).message);
          },
        );
      },
      Math.min(5000, 200 * this.restarts),
    );
  }

  private onReady(msg: Extract<FromController, { t: 'ready' }>): void {
    this.chip = msg.chip;
    this.nice = msg.nice;
    this.inputs.reset(msg.inputs);
    this.log.info(
      { pid: msg.pid, binding: msg.binding, chip: msg.chip, nice: msg.nice, outputs: msg.outputs },
      'gate controller ready',
    );
    for (const [output, value] of this.lampRequests) this.send({ t: 'set', output, value });
    if (this.commandedSafe) this.send({ t: 'safe', reason: this.commandedSafe });
    // a restarted controller arms on our next heartbeat: send it now
    if (this.heartbeating) this.send({ t: 'hb', mono: this.clock.monoMs() });
  }

  private onMessage(msg: FromController): void {
    switch (msg.t) {
      case 'hb':
        // its time is recorded by ControllerChild: any message counts as a sign of life
        this.controllerState = msg.state;
        return;
      case 'state':
        this.controllerState = msg.state;
        this.safeReasons = msg.reasons;
        this.emit('controllerState', {
          state: msg.state,
          reason: msg.reason,
          reasons: msg.reasons,
        });
        if (msg.state === 'safe') {
          this.log.warn({ reason: msg.reason, reasons: msg.reasons }, 'gate controller safe');
          if (!this.isStopping)
            this.fail(
              new EdgeError('EDGE_GATE_CONTROLLER_DOWN', `safe state: ${msg.reason}`),
              'degraded',
            );
        } else if (msg.state === 'armed') {
          this.log.info({ reason: msg.reason }, 'gate controller armed');
          this.recover();
        }
        return;
      case 'fired':
        this.commands.onFired(msg);
        return;
      case 'failed':
        this.commands.onFailed(msg);
        return;
      case 'cancelled':
        this.commands.onCancelled(msg);
        return;
      case 'released':
        // a hand fire not fired yet: this release ends an earlier hold, not that one
        if (this.handHeld.get(msg.output)?.pending === false) this.handHeld.delete(msg.output);
        this.emit('released', { output: msg.output, mono: msg.mono, reason: msg.reason });
        return;
      case 'edge': {
        const signal = this.inputs.edge(msg.input, msg.value, msg.mono);
        this.emit('input', { input: msg.input, value: msg.value, mono: msg.mono });
        if (signal) this.emitSignal(signal);
        return;
      }
      case 'encoder':
        this.emitSignal(this.inputs.encoder(msg.input, msg.count, msg.mono));
        return;
      case 'output':
        this.emit('output', { output: msg.output, value: msg.value, mono: msg.mono });
        return;
      case 'error':
        this.count('controller.errors');
        this.log.error({ error: msg.error, code: msg.code }, 'gate controller error');
        return;
      case 'ready':
        return;
    }
  }

  private heartbeat(): void {
    this.child.heartbeat(
      this.controllerState,
      this.config.heartbeatIntervalMs,
      this.config.safeStateAfterMs,
      this.heartbeating,
    );
  }

  private send(msg: ToController): void {
    this.child.send(msg);
  }

  /** For tests and the simulator: kill the controller as a crash would. */
  killController(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }

  get controllerPid(): number | null {
    return this.child.pid;
  }

  get restartCount(): number {
    return this.restarts;
  }

  get lastControllerHeartbeatMono(): number {
    return this.child.lastHeartbeatMono;
  }
}
