import type { TimerHandle } from '../../edge/clock.js';
import { EdgeError } from '../../edge/errors.js';
import { BaseDriver, type DriverContext, type DriverHealth, type LineSignal } from '../driver.js';
import type { SerialDriverConfig } from './config.js';
import { serialDevice, type SerialDevice } from './devices.js';
import { buildFramer } from './framing.js';
import { SerialLink } from './link.js';
import { FrameMonitor, printable, type MonitorEntry } from './monitor.js';
import { SerialPipeline, type PipelineItem } from './pipeline.js';
import { PollStateMachine, type PollAction } from './poller.js';
import { nodeSerialBinding, type SerialBinding } from './port.js';

/**
 * The serial driver: barcode scanners, scales (MT-SICS polled, Toledo continuous) and CT alarm
 * lines. Port bytes go through a pure pipeline (framer + profile) into typed line signals; the
 * link reopens the port after an unplug; liveness (heartbeat, continuous output, poll answers)
 * and link loss reach the engine as deviceStatus signals so it can go fail-safe.
 */
export interface TestCommandResult {
  command: string;
  attempts: number;
  latencyMs: number;
  response: { hex: string; text: string };
}

interface PendingTest {
  resolve: (r: TestCommandResult) => void;
  reject: (e: EdgeError) => void;
}

export class SerialDriver extends BaseDriver {
  readonly path: string;
  readonly deviceId: string;
  private readonly device: SerialDevice<unknown>;
  private readonly monitor: FrameMonitor;
  private readonly pipeline: SerialPipeline<unknown>;
  private readonly link: SerialLink;
  private poller: PollStateMachine | null = null;
  private readonly pendingTests = new Map<number, PendingTest>();
  private pollTimer: TimerHandle | null = null;
  private flushTimer: TimerHandle | null = null;
  private silenceTimer: TimerHandle | null = null;
  private deviceOk: boolean | null = null;
  private lastDownMessage: string | null = null;
  private lastFrameWall: number | null = null;
  private readonly items: PipelineItem<unknown>[] = [];

  constructor(
    private readonly config: SerialDriverConfig,
    ctx: DriverContext,
    binding: SerialBinding = nodeSerialBinding,
    random: () => number = Math.random,
  ) {
    super(config.id, config.kind, ctx);
    this.path = config.port.path;
    this.deviceId = config.deviceId ?? config.id;
    this.device = serialDevice(config);
    this.monitor = new FrameMonitor(config.monitorFrames);
    this.pipeline = new SerialPipeline(
      buildFramer(this.device.framing, config.id),
      this.device.profile,
      this.monitor,
    );
    this.link = new SerialLink(
      config.port,
      config.reconnect,
      binding,
      {
        onOpen: () => this.linkUp(),
        onData: (chunk) => this.ingest(chunk),
        onDown: (err, wasOpen) => this.linkDown(err, wasOpen),
      },
      this.log,
      random,
    );
  }

  get polled(): boolean {
    return this.device.poller !== null;
  }

  get testCommands(): readonly string[] {
    return this.device.testCommands;
  }

  protected onStart(): Promise<void> {
    return this.link.start();
  }

  protected async onStop(): Promise<void> {
    this.clearTimer(this.pollTimer);
    this.clearTimer(this.flushTimer);
    this.clearTimer(this.silenceTimer);
    this.cancelPolls();
    await this.link.close();
  }

  /** The last `limit` frames in and commands out, as hex and text. */
  monitorFrames(limit?: number): MonitorEntry[] {
    return this.monitor.last(limit);
  }

  /** The last bytes read, whatever the framing made of them (to spot a wrong framing). */
  lastBytes(): { bytes: number; hex: string; text: string } {
    const raw = this.monitor.tail();
    return { bytes: raw.length, hex: raw.toString('hex'), text: printable(raw) };
  }

  /** Send a technician's test command to a polled device and wait for its answer. */
  sendTestCommand(command: string): Promise<TestCommandResult> {
    if (!this.poller && !this.polled)
      return Promise.reject(
        new EdgeError('EDGE_SERIAL_COMMAND_REJECTED', `${this.id} is not a polled device`),
      );
    if (!this.device.testCommands.includes(command))
      return Promise.reject(
        new EdgeError(
          'EDGE_SERIAL_COMMAND_REJECTED',
          `command '${command}' is not allowed (allowed: ${this.device.testCommands.join(', ')})`,
        ),
      );
    const poller = this.poller;
    if (!poller || !this.link.isOpen)
      return Promise.reject(new EdgeError('EDGE_SERIAL_NOT_CONNECTED', `${this.path} is not open`));
    return new Promise((resolve, reject) => {
      const id = poller.request(command);
      this.pendingTests.set(id, { resolve, reject });
      this.pumpPoller();
    });
  }

  override health(): DriverHealth {
    const s = this.pipeline.stats();
    const l = this.link.counters;
    Object.assign(this.counters, {
      bytesIn: s.bytesIn,
      bytesOut: l.bytesOut,
      frames: s.frames,
      accepted: s.accepted,
      rejected: s.rejected,
      discardedBytes: s.discardedBytes,
      leadingNoiseBytes: s.leadingNoiseBytes,
      opens: l.opens,
      openFailures: l.openFailures,
      disconnects: l.disconnects,
      writeErrors: l.writeErrors,
    });
    return super.health();
  }

  protected override healthDetails(): Record<string, unknown> {
    return {
      port: this.path,
      link: this.link.state,
      linkError: this.link.lastError,
      deviceOk: this.deviceOk,
      lastFrameAt: this.lastFrameWall === null ? null : new Date(this.lastFrameWall).toISOString(),
      rejectReasons: this.pipeline.stats().rejectReasons,
      pollFailures: this.poller?.consecutiveFailures ?? 0,
    };
  }

  /** a throwing signal listener must not break timers or the port's data handler */
  protected override emitSignal(signal: LineSignal): void {
    try {
      super.emitSignal(signal);
    } catch (err) {
      this.count('listenerErrors');
      this.log.error({ err, signal: signal.type }, 'signal listener threw');
    }
  }

  private linkUp(): void {
    if (this.isStopping) return;
    this.lastDownMessage = null;
    this.recover();
    if (this.device.poller) {
      this.poller = new PollStateMachine(this.device.poller, this.clock.monoMs());
      this.pumpPoller();
    } else {
      this.setDeviceOk(true, 'connected');
      this.armSilence();
    }
  }

  private linkDown(err: EdgeError, wasOpen: boolean): void {
    if (this.isStopping) return;
    this.pipeline.reset();
    this.clearTimer(this.pollTimer);
    this.clearTimer(this.flushTimer);
    this.clearTimer(this.silenceTimer);
    this.cancelPolls();
    // a port that keeps failing to open is reported once per distinct error, not every retry
    const message = err.message;
    if (wasOpen || message !== this.lastDownMessage) this.fail(err, 'degraded');
    this.lastDownMessage = message;
    this.setDeviceOk(false, wasOpen ? 'disconnected' : 'port unavailable');
  }

  private setDeviceOk(ok: boolean, reason: string): void {
    if (this.deviceOk === ok) return;
    this.deviceOk = ok;
    this.count(ok ? 'deviceUp' : 'deviceDown');
    this.emitSignal({
      type: 'deviceStatus',
      deviceId: this.deviceId,
      atMono: this.clock.monoMs(),
      role: this.device.role,
      ok,
      reason,
    });
  }

  private ingest(chunk: Buffer): void {
    const now = this.clock.monoMs();
    const wall = this.clock.wallMs();
    this.monitor.addBytes(chunk);
    try {
      this.pipeline.ingest(chunk, now, wall, this.items);
      this.handleItems(now);
    } catch (err) {
      // listeners (the engine) throwing must not break the port's data handler
      this.items.length = 0;
      this.count('handlerErrors');
      this.log.error({ err }, 'serial frame handling failed');
    }
    this.armFlush(now);
  }

  /** time-driven framing: flush at the framer's deadline (re-armed if the timer fired early) */
  private armFlush(now: number): void {
    this.clearTimer(this.flushTimer);
    this.flushTimer = null;
    const deadline = this.pipeline.framer.deadline();
    if (deadline === null || this.isStopping) return;
    // +1 ms: Node's timer clock and the monotonic clock can disagree by a fraction of a ms
    this.flushTimer = this.setTimer(() => this.flushFramer(), Math.max(0, deadline - now) + 1);
  }

  private flushFramer(): void {
    const now = this.clock.monoMs();
    try {
      this.pipeline.flush(now, this.clock.wallMs(), this.items);
      this.handleItems(now);
    } catch (err) {
      this.items.length = 0;
      this.count('handlerErrors');
      this.log.error({ err }, 'serial frame handling failed');
    }
    this.armFlush(now);
  }

  private handleItems(now: number): void {
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const { frame, result } = items[i] as PipelineItem<unknown>;
      if (this.poller?.busy) this.answered(this.poller.response(now), frame.raw);
      if (!result.ok) continue;
      this.lastFrameWall = this.clock.wallMs();
      if (this.device.silenceTimeoutMs !== null) {
        this.armSilence();
        if (this.deviceOk === false) {
          this.setDeviceOk(true, 'heard again');
          this.recover();
        }
      }
      for (const signal of this.device.signals(result.value, this.deviceId, now))
        this.emitSignal(signal);
    }
    items.length = 0;
  }

  private armSilence(): void {
    const ms = this.device.silenceTimeoutMs;
    if (ms === null) return;
    this.clearTimer(this.silenceTimer);
    this.silenceTimer = this.setTimer(() => {
      this.silenceTimer = null;
      this.setDeviceOk(false, this.device.silenceReason);
      this.fail(
        new EdgeError('EDGE_SERIAL_DEVICE_SILENT', `${this.path}: ${this.device.silenceReason}`),
        'degraded',
      );
    }, ms);
  }

  private answered(action: PollAction | null, raw: Buffer): void {
    if (!action || action.type !== 'answered') return;
    if (this.deviceOk !== true) {
      this.setDeviceOk(true, 'answering');
      this.recover();
    }
    const pending = this.pendingTests.get(action.requestId);
    if (pending) {
      this.pendingTests.delete(action.requestId);
      pending.resolve({
        command: action.command,
        attempts: action.attempt,
        latencyMs: action.latencyMs,
        response: { hex: raw.toString('hex'), text: printable(raw) },
      });
    }
    this.pumpPoller();
  }

  private pumpPoller(): void {
    const poller = this.poller;
    if (!poller || !this.link.isOpen || this.isStopping) return;
    const now = this.clock.monoMs();
    for (const a of poller.tick(now)) {
      if (a.type === 'send') this.send(a.command);
      else if (a.type === 'failed') this.pollFailed(a);
    }
    this.clearTimer(this.pollTimer);
    const deadline = poller.deadline();
    if (Number.isFinite(deadline) || deadline === -Infinity)
      this.pollTimer = this.setTimer(() => this.pumpPoller(), Math.max(0, deadline - now));
  }

  private send(command: string): void {
    const bytes = Buffer.from(`${command}\r\n`, 'latin1');
    this.monitor.add(this.clock.wallMs(), 'tx', 'command', bytes);
    this.count('commandsSent');
    // a failed write marks the link down (EIO); the poller's timeout covers the rest
    this.link
      .write(bytes)
      .catch((err: unknown) => this.log.warn({ err, port: this.path }, 'serial write failed'));
  }

  private pollFailed(a: Extract<PollAction, { type: 'failed' }>): void {
    this.count(a.reason === 'timeout' ? 'pollTimeouts' : 'pollCancelled');
    const pending = this.pendingTests.get(a.requestId);
    if (pending) {
      this.pendingTests.delete(a.requestId);
      pending.reject(
        a.reason === 'timeout'
          ? new EdgeError(
              'EDGE_SERIAL_COMMAND_TIMEOUT',
              `no answer to '${a.command}' after ${a.attempts} attempts`,
            )
          : new EdgeError(
              'EDGE_SERIAL_NOT_CONNECTED',
              `${this.path} went away before '${a.command}' was answered`,
            ),
      );
    }
    if (a.reason === 'timeout' && a.purpose === 'poll' && this.deviceOk !== false) {
      this.setDeviceOk(false, this.device.silenceReason);
      this.fail(
        new EdgeError('EDGE_SERIAL_DEVICE_SILENT', `${this.path}: no answer to ${a.command}`),
        'degraded',
      );
    }
  }

  private cancelPolls(): void {
    const poller = this.poller;
    this.poller = null;
    if (poller)
      for (const a of poller.cancelAll(this.clock.monoMs()))
        if (a.type === 'failed') this.pollFailed(a);
  }
}
