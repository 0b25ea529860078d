import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { EdgeError, type EdgeErrorCode, ERROR_CODES } from '../errors.js';
import { launchController } from './controller-launch.js';
import type {
  ControllerSettings,
  ControllerState,
  FromController,
  ToController,
} from './protocol.js';

/**
 * The forked gate-controller process as the gateway supervises it: started and configured
 * until it reports ready (15 s), its messages passed on, its liveness followed by heartbeats
 * (a controller that stopped answering is killed, and its exit reported for a restart), and a
 * shutdown that falls back to SIGKILL. Only the current child is heard: messages and the exit
 * of a replaced one are ignored.
 */

export interface ControllerChildEvents {
  /** the controller configured itself and is ready (before `message` gets the same message) */
  ready(msg: Extract<FromController, { t: 'ready' }>): void;
  /** every message from the current child */
  message(msg: FromController): void;
  /** the current child exited (pending work is lost); `lastExit` says how */
  exited(lastExit: string): void;
  /** the child exited after it had been ready: the caller restarts it */
  died(err: EdgeError): void;
}

export class ControllerChild {
  private child: ChildProcess | null = null;
  private pidValue: number | null = null;
  private lastExitValue: string | null = null;
  private lastHb = 0;
  private lastTick = 0;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly events: ControllerChildEvents,
  ) {}

  get connected(): boolean {
    return this.child?.connected ?? false;
  }

  get pid(): number | null {
    return this.pidValue;
  }

  get lastExit(): string | null {
    return this.lastExitValue;
  }

  /** when the controller was last heard from (any message counts) */
  get lastHeartbeatMono(): number {
    return this.lastHb;
  }

  /** Fork and configure a controller; resolves when it is ready, rejects when it cannot start. */
  spawn(settings: ControllerSettings, realtimePriority: number): Promise<void> {
    const child = launchController(realtimePriority);
    this.child = child;
    this.pidValue = child.pid ?? null;
    this.lastHb = this.clock.monoMs();
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
        // only heartbeats prove the controller's loop runs: a controller that still forwards
        // edges but whose heartbeat path is broken must be detected as hung
        if (this.child === child && (msg.t === 'hb' || msg.t === 'ready')) {
          this.lastHb = this.clock.monoMs();
        }
        if (msg.t === 'ready' && !settled) {
          settled = true;
          clearTimeout(timer);
          this.events.ready(msg);
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
        if (this.child === child) this.events.message(msg);
      });
      // an IPC write racing the child's death fails with EPIPE as an 'error' event: the exit
      // handler below deals with the death, this only keeps the error from going unhandled
      child.on('error', (err) => this.log.warn({ err }, 'gate controller process error'));
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.child !== child) return;
        this.child = null;
        this.lastExitValue = `code ${code}, signal ${signal}`;
        this.events.exited(this.lastExitValue);
        const err = new EdgeError(
          'EDGE_GATE_CONTROLLER_DOWN',
          `gate controller exited (${this.lastExitValue})`,
        );
        if (!settled) {
          settled = true;
          reject(err);
          return;
        }
        this.events.died(err);
      });
      child.send({ t: 'configure', settings } satisfies ToController);
    });
  }

  /**
   * One heartbeat tick: send ours (unless `sendOurs` is false: the gateway is still starting and
   * the controller must not arm yet), and kill a controller that stopped answering (hung,
   * stopped by a signal) so that its exit restarts it. `state` is the controller's last reported
   * state (a starting controller is not judged).
   */
  heartbeat(
    state: ControllerState,
    intervalMs: number,
    safeStateAfterMs: number,
    sendOurs = true,
  ): void {
    const child = this.child;
    if (!child?.connected) return;
    const now = this.clock.monoMs();
    if (sendOurs) this.send({ t: 'hb', mono: now });
    const ownGap = now - this.lastTick;
    this.lastTick = now;
    if (ownGap > 2 * intervalMs) {
      // our own event loop stalled: the controller's heartbeats may still sit in the IPC pipe
      this.lastHb = Math.max(this.lastHb, now - intervalMs);
      return;
    }
    const silent = now - this.lastHb;
    const limit = Math.max(2 * safeStateAfterMs, 10 * intervalMs);
    if (state !== 'starting' && silent > limit) {
      this.log.error(
        { silentMs: Math.round(silent), pid: child.pid },
        'gate controller silent: killing it',
      );
      child.kill('SIGKILL');
    }
  }

  send(msg: ToController): void {
    const child = this.child;
    if (!child?.connected) return;
    try {
      child.send(msg);
    } catch (err) {
      this.log.warn({ err }, 'send to gate controller failed');
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /**
   * Stop the controller: it is forgotten at once (nothing more is sent to it, its exit is not
   * reported), `detached` runs, then it is asked to shut down (SIGKILL after 3 s).
   */
  stop(detached: () => void): Promise<void> {
    const child = this.child;
    this.child = null;
    detached();
    if (!child) return Promise.resolve();
    return new Promise<void>((resolve) => {
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
}
