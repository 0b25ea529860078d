import type { Logger } from 'pino';
import { EdgeError } from '../../edge/errors.js';
import { Backoff } from '../../edge/backoff.js';
import type { ReconnectConfig } from './config.js';
import type { OpenPort, PortCloseInfo, SerialBinding, SerialPortSettings } from './port.js';

/**
 * One serial port's connection lifecycle: open; on unplug (close with `disconnected`, EIO on a
 * write) back off with jitter, wait until the device path exists again, open a new port. It
 * retries forever until close(); every timer it makes is cleared there.
 */
export type LinkState = 'idle' | 'opening' | 'open' | 'backoff' | 'waiting-for-path' | 'closed';

export interface LinkEvents {
  onOpen(): void;
  onData(chunk: Buffer): void;
  /** the port went away or could not be opened; `wasOpen` tells which */
  onDown(err: EdgeError, wasOpen: boolean): void;
}

export interface LinkCounters {
  opens: number;
  openFailures: number;
  disconnects: number;
  writeErrors: number;
  bytesOut: number;
}

export class SerialLink {
  private port: OpenPort | null = null;
  private linkState: LinkState = 'idle';
  private timer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private waitingSince = 0;
  readonly counters: LinkCounters = {
    opens: 0,
    openFailures: 0,
    disconnects: 0,
    writeErrors: 0,
    bytesOut: 0,
  };
  lastError: string | null = null;

  private readonly events: LinkEvents;

  constructor(
    private readonly settings: SerialPortSettings,
    private readonly reconnect: ReconnectConfig,
    private readonly binding: SerialBinding,
    events: LinkEvents,
    private readonly log: Logger,
    random: () => number = Math.random,
  ) {
    this.backoff = new Backoff(reconnect.initialMs, reconnect.maxMs, random);
    // the reconnect loop runs from timers: a throwing handler must not stop it or crash
    const guard =
      <A extends unknown[]>(name: string, fn: (...args: A) => void) =>
      (...args: A) => {
        try {
          fn(...args);
        } catch (err) {
          this.log.error({ err, port: settings.path }, `serial link ${name} handler threw`);
        }
      };
    this.events = {
      onOpen: guard('open', () => events.onOpen()),
      onData: guard('data', (chunk: Buffer) => events.onData(chunk)),
      onDown: guard('down', (err: EdgeError, wasOpen: boolean) => events.onDown(err, wasOpen)),
    };
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** read through a getter: async steps may have closed the link meanwhile */
  private get closed(): boolean {
    return this.linkState === 'closed';
  }

  get isOpen(): boolean {
    return this.linkState === 'open' && this.port !== null;
  }

  /** First connection attempt; resolves when it has succeeded or failed (retries continue). */
  start(): Promise<void> {
    if (this.linkState !== 'idle') return Promise.resolve();
    return this.connect();
  }

  async write(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port || this.linkState !== 'open')
      throw new EdgeError('EDGE_SERIAL_NOT_CONNECTED', `${this.settings.path} is not open`);
    try {
      await port.write(data);
      this.counters.bytesOut += data.length;
    } catch (err) {
      this.counters.writeErrors++;
      // EIO / EBADF on write: the device is gone even if no close arrived yet
      if (this.port === port)
        this.lost(port, { disconnected: true, message: (err as Error).message });
      throw new EdgeError('EDGE_SERIAL_DISCONNECTED', `write to ${this.settings.path} failed`, {
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    this.linkState = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const port = this.port;
    this.port = null;
    if (port) await port.close().catch(() => undefined);
  }

  private schedule(fn: () => void, ms: number): void {
    if (this.linkState === 'closed') return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      fn();
    }, ms);
  }

  private async connect(): Promise<void> {
    if (this.linkState === 'closed') return;
    const path = this.settings.path;
    if (!this.binding.pathExists(path)) {
      if (this.linkState !== 'waiting-for-path') {
        this.waitingSince = Date.now();
        this.log.warn({ port: path }, 'serial device path missing; waiting for it');
        this.linkState = 'waiting-for-path';
        this.lastError = `${path} does not exist`;
        this.events.onDown(
          new EdgeError('EDGE_SERIAL_NOT_CONNECTED', `${path} does not exist`),
          false,
        );
      }
      this.schedule(() => void this.connect(), this.reconnect.pathPollMs);
      return;
    }
    this.linkState = 'opening';
    let port: OpenPort;
    try {
      port = await this.binding.open(this.settings, {
        onData: (chunk) => {
          if (this.port === port) this.events.onData(chunk);
        },
        onClose: (info) => {
          if (this.port === port) this.lost(port, info);
        },
      });
    } catch (err) {
      this.counters.openFailures++;
      const repeated = this.lastError === (err as Error).message;
      this.lastError = (err as Error).message;
      if (this.closed) return;
      const delay = this.backoff.next();
      this.linkState = 'backoff';
      // the same failure again (a port held by another process...) is logged at debug level
      const level = repeated ? 'debug' : 'warn';
      this.log[level](
        { err, port: path, retryInMs: delay, failures: this.counters.openFailures },
        'serial port open failed',
      );
      this.events.onDown(
        new EdgeError('EDGE_SERIAL_OPEN_FAILED', `cannot open ${path}: ${(err as Error).message}`, {
          cause: err,
        }),
        false,
      );
      this.schedule(() => void this.connect(), delay);
      return;
    }
    if (this.closed) {
      await port.close().catch(() => undefined);
      return;
    }
    this.port = port;
    this.linkState = 'open';
    this.counters.opens++;
    this.lastError = null;
    this.backoff.reset();
    this.log.info(
      { port: path, waitedMs: this.waitingSince ? Date.now() - this.waitingSince : 0 },
      'serial port open',
    );
    this.waitingSince = 0;
    this.events.onOpen();
  }

  private lost(port: OpenPort, info: PortCloseInfo): void {
    if (this.port !== port || this.linkState === 'closed') return;
    this.port = null;
    void port.close().catch(() => undefined);
    this.counters.disconnects++;
    this.lastError = info.message;
    this.waitingSince = Date.now();
    const delay = this.backoff.next();
    this.linkState = 'backoff';
    this.log.warn(
      {
        port: this.settings.path,
        disconnected: info.disconnected,
        reason: info.message,
        retryInMs: delay,
      },
      'serial port lost',
    );
    this.events.onDown(
      new EdgeError('EDGE_SERIAL_DISCONNECTED', `${this.settings.path}: ${info.message}`),
      true,
    );
    this.schedule(() => void this.connect(), delay);
  }
}
