import type { Logger } from 'pino';
import { EdgeError } from './errors.js';

/**
 * systemd's notify protocol (sd_notify): READY=1 once the line runs, STATUS= lines for
 * `systemctl status`, WATCHDOG=1 every half WatchdogSec while the event loop turns and the
 * gateway says it is alive (a gateway stuck in a synchronous loop, or stuck in a configuration
 * change, stops pinging and systemd restarts it; its gate controller has already gone safe on
 * the missing heartbeats), STOPPING=1 on shutdown.
 *
 * Node has no AF_UNIX datagram sockets: the path socket systemd gives a system service
 * (/run/systemd/notify) is written with the unix-dgram addon. An abstract socket (@...) cannot be
 * addressed by that addon, and a spawned `systemd-notify` races systemd's sender attribution
 * (READY could be lost and the unit killed at TimeoutStartSec): it is refused with a clear error
 * (run such a unit as Type=simple). Without NOTIFY_SOCKET nothing is sent.
 */

export interface NotifySender {
  send(message: string): Promise<void>;
  close(): void;
}

export interface ServiceNotifierOptions {
  env: NodeJS.ProcessEnv;
  pid: number;
  log: Logger;
  /** how messages reach the socket; default: unix-dgram */
  sender?: NotifySender;
  /** asked before each watchdog ping: false withholds it (systemd then restarts the service) */
  alive?: () => boolean;
}

export class ServiceNotifier {
  private timer: NodeJS.Timeout | null = null;
  private pings = 0;
  private withheld = 0;

  private constructor(
    private readonly sender: NotifySender,
    /** half of WatchdogSec, or null when the unit has no watchdog */
    readonly watchdogIntervalMs: number | null,
    private readonly log: Logger,
    private readonly alive: () => boolean,
  ) {}

  /** Null when the process is not supervised by systemd's notify protocol. */
  static async create(o: ServiceNotifierOptions): Promise<ServiceNotifier | null> {
    const socket = o.env.NOTIFY_SOCKET;
    if (!socket) return null;
    const sender = o.sender ?? (await defaultSender(socket, o.log));
    return new ServiceNotifier(
      sender,
      watchdogInterval(o.env, o.pid),
      o.log,
      o.alive ?? (() => true),
    );
  }

  get watchdogPings(): number {
    return this.pings;
  }

  get watchdogWithheld(): number {
    return this.withheld;
  }

  ready(status: string): void {
    this.notify(`READY=1\nSTATUS=${oneLine(status)}\nMAINPID=${process.pid}`);
    this.startWatchdog();
  }

  status(status: string): void {
    this.notify(`STATUS=${oneLine(status)}`);
  }

  stopping(status = 'stopping'): void {
    this.notify(`STOPPING=1\nSTATUS=${oneLine(status)}`);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sender.close();
  }

  private startWatchdog(): void {
    if (this.watchdogIntervalMs === null || this.timer) return;
    const ping = () => {
      if (!this.alive()) {
        if (this.withheld++ === 0) this.log.error({}, 'gateway not alive: watchdog ping withheld');
        return;
      }
      this.withheld = 0;
      this.pings++;
      this.notify('WATCHDOG=1');
    };
    ping();
    this.timer = setInterval(ping, this.watchdogIntervalMs);
    this.timer.unref();
  }

  private notify(message: string): void {
    this.sender.send(message).catch((err: unknown) => {
      this.log.warn({ err }, 'systemd notification failed');
    });
  }
}

/** WATCHDOG_USEC / 2, if the watchdog is meant for this process (WATCHDOG_PID). */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(100, Math.floor(usec / 2000));
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 200);
}

async function defaultSender(socket: string, log: Logger): Promise<NotifySender> {
  if (!socket.startsWith('/')) {
    throw new EdgeError(
      'EDGE_SYSTEMD_NOTIFY',
      `NOTIFY_SOCKET ${socket} is not a path socket (abstract sockets are not supported): run the unit as Type=simple`,
    );
  }
  const { createSocket } = await import('unix-dgram');
  const dgram = createSocket('unix_dgram');
  dgram.on('error', (err: Error) => log.warn({ err }, 'notify socket error'));
  return {
    send: (message) =>
      new Promise((resolve, reject) => {
        const buf = Buffer.from(message);
        dgram.send(buf, 0, buf.length, socket, (err) => (err ? reject(err) : resolve()));
      }),
    close: () => dgram.close(),
  };
}
