import { spawn } from 'node:child_process';
import type { Logger } from 'pino';

/**
 * systemd's notify protocol (sd_notify): READY=1 once the line runs, STATUS= lines for
 * `systemctl status`, WATCHDOG=1 every half WatchdogSec while the event loop turns (a gateway
 * stuck in a synchronous loop stops pinging and systemd restarts it; its gate controller has
 * already gone safe on the missing heartbeats), STOPPING=1 on shutdown.
 *
 * Node has no AF_UNIX datagram sockets: a path socket (/run/systemd/notify) is written with the
 * unix-dgram addon; an abstract one (@...) is not supported by that addon, so those messages go
 * through `systemd-notify` (the unit then needs NotifyAccess=all). Without NOTIFY_SOCKET (not
 * started by systemd as Type=notify) nothing is sent.
 */

export interface NotifySender {
  send(message: string): Promise<void>;
  close(): void;
}

export interface ServiceNotifierOptions {
  env: NodeJS.ProcessEnv;
  pid: number;
  log: Logger;
  /** how messages reach the socket; default: unix-dgram for a path, systemd-notify for @abstract */
  sender?: NotifySender;
}

export class ServiceNotifier {
  private timer: NodeJS.Timeout | null = null;
  private pings = 0;

  private constructor(
    private readonly sender: NotifySender,
    /** half of WatchdogSec, or null when the unit has no watchdog */
    readonly watchdogIntervalMs: number | null,
    private readonly log: Logger,
  ) {}

  /** Null when the process is not supervised by systemd's notify protocol. */
  static async create(o: ServiceNotifierOptions): Promise<ServiceNotifier | null> {
    const socket = o.env.NOTIFY_SOCKET;
    if (!socket) return null;
    const sender = o.sender ?? (await defaultSender(socket, o.log));
    return new ServiceNotifier(sender, watchdogInterval(o.env, o.pid), o.log);
  }

  get watchdogPings(): number {
    return this.pings;
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
  if (socket.startsWith('@')) return spawnSender(log);
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

/** `systemd-notify` for an abstract socket; it inherits NOTIFY_SOCKET from our environment. */
function spawnSender(log: Logger): NotifySender {
  log.info({}, 'abstract NOTIFY_SOCKET: notifying through systemd-notify (NotifyAccess=all)');
  return {
    send: (message) =>
      new Promise((resolve, reject) => {
        const child = spawn('systemd-notify', message.split('\n'), { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`systemd-notify exited with ${code}`)),
        );
      }),
    close: () => undefined,
  };
}
