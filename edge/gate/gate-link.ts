import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GatesConfig } from '../../config/schema.js';
import { BaseDriver, type DriverContext, type DriverEvents } from '../../drivers/driver.js';
import { EdgeError } from '../errors.js';
import type { GateCommand } from '../engine/types.js';
import type {
  ControllerSettings,
  ControllerState,
  FromController,
  ToController,
} from './protocol.js';

/**
 * The gateway's side of the gate-controller process: a Driver like any other. It forks the
 * controller, sends it gate commands with their scheduled time, exchanges heartbeats, reports
 * fires (with lateness) and failures, and restarts a controller that died.
 */

export interface GateFired {
  gateId: string;
  parcelId: string | null;
  scheduledMono: number;
  actualMono: number;
  latenessMs: number;
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
}

export class GateLink extends BaseDriver<GateLinkEvents> {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, GateCommand>();
  private hbTimer: NodeJS.Timeout | null = null;
  private controllerState: ControllerState = 'starting';
  private lastControllerHb = 0;
  private restarts = 0;
  private pid: number | null = null;
  private readonly lateness: number[] = [];

  constructor(
    id: string,
    private readonly config: GatesConfig,
    ctx: DriverContext,
  ) {
    super(id, 'gate-controller', ctx);
  }

  /** Send a gate command; failures come back as `failed` events (never thrown at the engine). */
  schedule(command: GateCommand): void {
    const id = this.nextId++;
    const child = this.child;
    if (!child?.connected || this.controllerState !== 'armed') {
      this.count('commands.refused');
      this.emit('failed', {
        gateId: command.gateId,
        parcelId: command.parcelId,
        error: `gate controller is ${child?.connected ? this.controllerState : 'not running'}`,
      });
      return;
    }
    this.pending.set(id, command);
    this.count('commands.sent');
    this.send({
      t: 'fire',
      id,
      output: command.gateId,
      atMono: command.fireAtMono,
      parcelId: command.parcelId,
    });
  }

  protected async onStart(): Promise<void> {
    await this.spawn();
    this.hbTimer = this.setRepeating(() => this.heartbeat(), this.config.heartbeatIntervalMs);
  }

  protected async onStop(): Promise<void> {
    this.clearTimer(this.hbTimer);
    const child = this.child;
    this.child = null;
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
    const sorted = [...this.lateness].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
    return {
      pid: this.pid,
      controllerState: this.controllerState,
      restarts: this.restarts,
      pendingCommands: this.pending.size,
      binding: this.config.binding,
      latenessMs: {
        p50: pct(0.5),
        p99: pct(0.99),
        max: sorted.at(-1) ?? null,
        samples: sorted.length,
      },
    };
  }

  private controllerPath(): { path: string; execArgv: string[] } {
    const ts = import.meta.url.endsWith('.ts');
    const url = new URL(`./gate-controller-process.${ts ? 'ts' : 'js'}`, import.meta.url);
    return { path: fileURLToPath(url), execArgv: ts ? ['--import', 'tsx'] : [] };
  }

  private spawn(): Promise<void> {
    const { path, execArgv } = this.controllerPath();
    const child = fork(path, [], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    this.pid = child.pid ?? null;
    this.controllerState = 'starting';
    const settings: ControllerSettings = {
      binding: this.config.binding,
      outputs: this.config.outputs,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      safeStateAfterMs: this.config.safeStateAfterMs,
      spinBeforeMs: this.config.spinBeforeMs,
    };
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(
          new EdgeError(
            'EDGE_GATE_CONTROLLER_DOWN',
            'gate controller did not become ready in 15 s',
          ),
        );
      }, 15_000);
      child.on('message', (raw: unknown) => {
        const msg = raw as FromController;
        if (msg.t === 'ready' && !settled) {
          settled = true;
          clearTimeout(timer);
          this.log.info(
            { pid: msg.pid, binding: msg.binding, outputs: msg.outputs },
            'gate controller ready',
          );
          resolve();
        } else if (msg.t === 'error' && !settled) {
          settled = true;
          clearTimeout(timer);
          reject(new EdgeError('EDGE_GATE_CONTROLLER_DOWN', msg.error));
        }
        this.onMessage(msg);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.child !== child) return;
        this.child = null;
        this.controllerState = 'starting';
        this.failPending('gate controller exited');
        const err = new EdgeError(
          'EDGE_GATE_CONTROLLER_DOWN',
          `gate controller exited (code ${code}, signal ${signal})`,
        );
        if (!settled) {
          settled = true;
          reject(err);
          return;
        }
        if (this.isStopping) return;
        this.fail(err, 'degraded');
        this.restarts++;
        this.setTimer(
          () => {
            this.spawn().then(
              () => this.recover(),
              (e: unknown) => this.fail(e, 'degraded'),
            );
          },
          Math.min(5000, 200 * this.restarts),
        );
      });
      child.send({ t: 'configure', settings } satisfies ToController);
    });
  }

  private onMessage(msg: FromController): void {
    switch (msg.t) {
      case 'hb':
        this.lastControllerHb = this.clock.monoMs();
        this.controllerState = msg.state;
        return;
      case 'state':
        this.controllerState = msg.state;
        this.log.warn({ state: msg.state, reason: msg.reason }, 'gate controller state');
        if (msg.state === 'safe' && !this.isStopping)
          this.fail(
            new EdgeError('EDGE_GATE_CONTROLLER_DOWN', `safe state: ${msg.reason}`),
            'degraded',
          );
        else if (msg.state === 'armed') this.recover();
        return;
      case 'fired': {
        const command = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        const latenessMs = msg.actualMono - msg.scheduledMono;
        this.lateness.push(latenessMs);
        if (this.lateness.length > 1000) this.lateness.shift();
        this.count('commands.fired');
        this.emit('fired', {
          gateId: msg.output,
          parcelId: command?.parcelId ?? msg.parcelId,
          scheduledMono: msg.scheduledMono,
          actualMono: msg.actualMono,
          latenessMs,
        });
        return;
      }
      case 'failed':
        this.pending.delete(msg.id);
        this.count('commands.failed');
        this.emit('failed', { gateId: msg.output, parcelId: msg.parcelId, error: msg.error });
        return;
      case 'edge':
        this.emit('input', { input: msg.input, value: msg.value, mono: msg.mono });
        return;
      case 'error':
        this.log.error({ error: msg.error }, 'gate controller error');
        return;
      case 'ready':
        return;
    }
  }

  private failPending(error: string): void {
    for (const command of this.pending.values()) {
      this.count('commands.failed');
      this.emit('failed', { gateId: command.gateId, parcelId: command.parcelId, error });
    }
    this.pending.clear();
  }

  private heartbeat(): void {
    this.send({ t: 'hb', mono: this.clock.monoMs() });
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
  killController(): void {
    this.child?.kill('SIGKILL');
  }

  get controllerPid(): number | null {
    return this.pid;
  }

  get lastControllerHeartbeatMono(): number {
    return this.lastControllerHb;
  }
}
