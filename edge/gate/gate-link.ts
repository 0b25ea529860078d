import type { ChildProcess } from 'node:child_process';
import type { GatesConfig } from '../../config/schema.js';
import { BaseDriver, type DriverContext, type DriverEvents } from '../../drivers/driver.js';
import { EdgeError, type EdgeErrorCode, ERROR_CODES } from '../errors.js';
import type { GateCancel, GateCommand } from '../engine/types.js';
import { launchController, realtimeRefusal } from './controller-launch.js';
import { InputLevels, LatenessWindow } from './link-state.js';
import type {
  ControllerSettings,
  ControllerState,
  FromController,
  ToController,
} from './protocol.js';
import { controllerSettingsFrom } from './settings.js';

/**
 * The gateway's side of the gate-controller process: a Driver like any other. It forks the
 * controller, sends it gate commands with their scheduled time, exchanges heartbeats, turns
 * input edges into engine signals, reports fires (with lateness) and failures, and restarts a
 * controller that died or stopped answering (health: degraded + EDGE_GATE_CONTROLLER_DOWN,
 * `restarts`, and a `restarted` event).
 */

export interface GateFired {
  gateId: string;
  parcelId: string | null;
  scheduledMono: number;
  actualMono: number;
  latenessMs: number;
  /** the command reached the controller this long before its time (negative: sent late) */
  leadMs: number;
}

export interface GateFailed {
  gateId: string;
  parcelId: string | null;
  error: string;
}

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
}

interface Pending {
  command: { gateId: string; parcelId: string | null; fireAtMono: number };
  settle?: (result: GateFired | Error) => void;
}

export class GateLink extends BaseDriver<GateLinkEvents> {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private hbTimer: NodeJS.Timeout | null = null;
  private controllerState: ControllerState = 'starting';
  private safeReasons: string[] = [];
  private lastControllerHb = 0;
  private lastTick = 0;
  private realtime = 0;
  private realtimeNote: string | null = null;
  private restarts = 0;
  private lastExit: string | null = null;
  private pid: number | null = null;
  private chip: string | null = null;
  private nice: number | null = null;
  private readonly lateness = new LatenessWindow();
  private readonly inputs = new InputLevels();
  private readonly lampRequests = new Map<string, 0 | 1>();
  private commandedSafe: string | null = null;
  private maintenanceOverride = false;
  private settings: ControllerSettings | null = null;

  constructor(
    id: string,
    private readonly config: GatesConfig,
    ctx: DriverContext,
    private readonly options: GateLinkOptions = {},
  ) {
    super(id, 'gate-controller', ctx);
  }

  /** Send a gate command; failures come back as `failed` events (never thrown at the engine). */
  schedule(command: GateCommand): void {
    this.dispatch(command, undefined);
  }

  /**
   * Withdraw every command for this parcel on this gate that has not fired yet (line stopped,
   * speed changed, parcel became unknown or suspect). Matched by gate and parcel, not by time:
   * the engine's estimate of the time may have moved since the command was sent. Only commands
   * sent before this call are pending, so a command re-sent after it is not touched. Returns
   * false when nothing was pending (already fired, refused, or lost with a controller restart).
   */
  cancel(cancel: GateCancel): boolean {
    let matched = false;
    for (const [id, p] of this.pending) {
      const c = p.command;
      if (c.gateId !== cancel.gateId || c.parcelId !== cancel.parcelId) continue;
      matched = true;
      this.count('commands.cancelled');
      this.send({ t: 'cancel', id });
    }
    if (!matched) this.count('commands.cancel_unmatched');
    return matched;
  }

  /** Technician jog: fire a gate now; resolves when it fired, rejects when it did not. */
  jogFire(gateId: string, holdMs?: number): Promise<GateFired> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        settle(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', 'no answer from the gate controller'));
      }, 5000);
      let done = false;
      const settle = (r: GateFired | Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      this.dispatch(
        { gateId, parcelId: null, fireAtMono: this.clock.monoMs(), holdMs, immediate: true },
        settle,
      );
    });
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
    return this.child?.connected ? this.controllerState : 'starting';
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

  private dispatch(
    command: {
      gateId: string;
      parcelId: string | null;
      fireAtMono: number;
      holdMs?: number | undefined;
      immediate?: boolean;
    },
    settle: Pending['settle'],
  ): void {
    const id = this.nextId++;
    const child = this.child;
    if (!child?.connected || this.controllerState !== 'armed') {
      this.count('commands.refused');
      const error = `gate controller is ${child?.connected ? this.controllerState : 'not running'}${this.safeReasons.length ? ` (${this.safeReasons.join(', ')})` : ''}`;
      this.emit('failed', { gateId: command.gateId, parcelId: command.parcelId, error });
      settle?.(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', error));
      return;
    }
    this.pending.set(id, { command, ...(settle ? { settle } : {}) });
    this.count('commands.sent');
    this.send({
      t: 'fire',
      id,
      output: command.gateId,
      atMono: command.fireAtMono,
      parcelId: command.parcelId,
      ...(command.holdMs !== undefined ? { holdMs: command.holdMs } : {}),
      ...(command.immediate ? { immediate: true } : {}),
    });
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
  }

  protected async onStop(): Promise<void> {
    this.clearTimer(this.hbTimer);
    const child = this.child;
    this.child = null;
    this.failPending('gate link stopped');
    if (!child) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (child.connected) child.send({ t: 'shutdown' } satisfies ToController);
      else child.kill('SIGTERM');
    });
  }

  protected override healthDetails(): Record<string, unknown> {
    return {
      pid: this.pid,
      controllerState: this.gateState,
      safeReasons: this.safeReasons,
      restarts: this.restarts,
      lastExit: this.lastExit,
      pendingCommands: this.pending.size,
      binding: this.config.binding,
      chip: this.chip,
      nice: this.nice,
      realtimePriority: this.realtime,
      realtimeNote: this.realtimeNote,
      maintenance: this.maintenance,
      ...this.inputs.snapshot(),
      lights: Object.fromEntries(this.lampRequests),
      latenessMs: this.lateness.summary(),
    };
  }

  private spawn(): Promise<void> {
    const settings = this.settings!;
    const child = launchController(this.realtime);
    this.child = child;
    this.pid = child.pid ?? null;
    this.controllerState = 'starting';
    this.lastControllerHb = this.clock.monoMs();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        child.kill('SIGKILL');
        reject(
          new EdgeError(
            'EDGE_GATE_CONTROLLER_DOWN',
            'gate controller did not become ready in 15 s',
          ),
        );
      }, 15_000);
      child.on('message', (raw: unknown) => {
        const msg = raw as FromController;
        if (this.child === child) this.lastControllerHb = this.clock.monoMs(); // any message: alive
        if (msg.t === 'ready' && !settled) {
          settled = true;
          clearTimeout(timer);
          this.onReady(msg);
          resolve();
        } else if (msg.t === 'error' && !settled) {
          settled = true;
          clearTimeout(timer);
          const code = (
            msg.code && msg.code in ERROR_CODES ? msg.code : 'EDGE_GATE_CONTROLLER_DOWN'
          ) as EdgeErrorCode;
          reject(new EdgeError(code, msg.error));
          child.kill('SIGTERM');
        }
        if (this.child === child) this.onMessage(msg);
      });
      // an IPC write racing the child's death fails with EPIPE as an 'error' event: the exit
      // handler below deals with the death, this only keeps the error from going unhandled
      child.on('error', (err) => this.log.warn({ err }, 'gate controller process error'));
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.child !== child) return;
        this.child = null;
        this.controllerState = 'starting';
        this.lastExit = `code ${code}, signal ${signal}`;
        this.failPending('gate controller exited');
        const err = new EdgeError(
          'EDGE_GATE_CONTROLLER_DOWN',
          `gate controller exited (${this.lastExit})`,
        );
        if (!settled) {
          settled = true;
          reject(err);
          return;
        }
        if (this.isStopping) return;
        this.fail(err, 'degraded');
        this.restartLater(err.message);
      });
      child.send({ t: 'configure', settings } satisfies ToController);
    });
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
              { pid: this.pid, restarts: this.restarts, reason },
              'gate controller restarted',
            );
            this.emit('restarted', { pid: this.pid, restarts: this.restarts, reason });
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
  }

  private onMessage(msg: FromController): void {
    switch (msg.t) {
      case 'hb':
        this.lastControllerHb = this.clock.monoMs();
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
      case 'fired': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        const latenessMs = msg.actualMono - msg.scheduledMono;
        this.lateness.push(latenessMs);
        this.count('commands.fired');
        const fired: GateFired = {
          gateId: msg.output,
          parcelId: p?.command.parcelId ?? msg.parcelId,
          scheduledMono: msg.scheduledMono,
          actualMono: msg.actualMono,
          latenessMs,
          leadMs: msg.scheduledMono - msg.receivedMono,
        };
        p?.settle?.(fired);
        this.emit('fired', fired);
        return;
      }
      case 'failed': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        this.count('commands.failed');
        p?.settle?.(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', msg.error));
        this.emit('failed', { gateId: msg.output, parcelId: msg.parcelId, error: msg.error });
        return;
      }
      case 'cancelled': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.settle?.(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', 'cancelled'));
        return;
      }
      case 'released':
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

  private failPending(error: string): void {
    for (const p of this.pending.values()) {
      this.count('commands.failed');
      p.settle?.(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', error));
      this.emit('failed', { gateId: p.command.gateId, parcelId: p.command.parcelId, error });
    }
    this.pending.clear();
  }

  private heartbeat(): void {
    const child = this.child;
    if (!child?.connected) return;
    const now = this.clock.monoMs();
    this.send({ t: 'hb', mono: now });
    const interval = this.config.heartbeatIntervalMs;
    const ownGap = now - this.lastTick;
    this.lastTick = now;
    if (ownGap > 2 * interval) {
      // our own event loop stalled: the controller's heartbeats may still sit in the IPC pipe
      this.lastControllerHb = Math.max(this.lastControllerHb, now - interval);
      return;
    }
    // a controller that stopped answering (hung, stopped by a signal) is killed and restarted
    const silent = now - this.lastControllerHb;
    const limit = Math.max(2 * this.config.safeStateAfterMs, 10 * interval);
    if (this.controllerState !== 'starting' && silent > limit) {
      this.log.error(
        { silentMs: Math.round(silent), pid: child.pid },
        'gate controller silent: killing it',
      );
      child.kill('SIGKILL');
    }
  }

  private send(msg: ToController): void {
    const child = this.child;
    if (!child?.connected) return;
    try {
      child.send(msg);
    } catch (err) {
      this.log.warn({ err }, 'send to gate controller failed');
    }
  }

  /** For tests and the simulator: kill the controller as a crash would. */
  killController(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  get controllerPid(): number | null {
    return this.pid;
  }

  get restartCount(): number {
    return this.restarts;
  }

  get lastControllerHeartbeatMono(): number {
    return this.lastControllerHb;
  }
}
