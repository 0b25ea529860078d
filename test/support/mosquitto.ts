import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real Mosquitto broker process for tests: free port, its own config (max_queued_messages 0 so
 * the broker itself never drops QoS 1 messages to a slow test subscriber), kill and restart.
 */

export function mosquittoPath(): string {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (existsSync(p)) return p;
  }
  return 'mosquitto';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until)
      throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface MosquittoOptions {
  port?: number;
  /** extra mosquitto.conf lines (listener options, TLS, max_inflight_messages...) */
  extraConfig?: string[];
  /** lines placed inside the default listener block instead of the plain `listener` line */
  listenerLines?: string[];
  /** false: clients must log in (give `passwordFile` or a `password_file` line) */
  allowAnonymous?: boolean;
  /** the whole mosquitto.conf instead of the generated one (it must listen on `port`) */
  rawConfig?: (port: number, dir: string) => string;
}

export class MosquittoProcess {
  private child: ChildProcess | null = null;
  readonly dir: string;
  readonly confFile: string;
  log = '';

  constructor(
    readonly port: number,
    private readonly options: MosquittoOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'mosquitto-'));
    // started as root, mosquitto drops to the `mosquitto` user: without this it cannot write its
    // persistence file ("Error: Permission denied") and a restart forgets every session
    chmodSync(this.dir, 0o777);
    this.confFile = join(this.dir, 'mosquitto.conf');
    const lines = [
      `listener ${port} 127.0.0.1`,
      ...(options.listenerLines ?? []),
      `allow_anonymous ${options.allowAnonymous === false ? 'false' : 'true'}`,
      'persistence true',
      `persistence_location ${this.dir}/`,
      'max_queued_messages 0',
      'max_inflight_messages 0',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      ...(options.extraConfig ?? []),
    ];
    writeFileSync(
      this.confFile,
      options.rawConfig ? options.rawConfig(port, this.dir) : lines.join('\n') + '\n',
    );
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(mosquittoPath(), ['-c', this.confFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.log += d.toString();
      if (this.log.length > 100_000) this.log = this.log.slice(-50_000);
    });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    await waitForPort(this.port, 10_000);
  }

  /** SIGKILL: the broker vanishes without a goodbye. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill('SIGCONT'); // a frozen broker must be able to die
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** SIGSTOP / SIGCONT: the broker stalls with its connections open (no PUBACK, no error). */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoProcess> {
  const port = options.port ?? (await freePort());
  const broker = new MosquittoProcess(port, options);
  await broker.start();
  return broker;
}

/**
 * A Mosquitto password file for `users` (name -> password), written with mosquitto_passwd in its
 * own folder that the broker can read after it dropped root for the `mosquitto` user.
 */
export function writePasswordFile(dir: string, users: Record<string, string>): string {
  const own = mkdtempSync(join(dir, 'mosquitto-auth-'));
  chmodSync(own, 0o755);
  const file = join(own, 'passwd');
  writeFileSync(file, '');
  for (const [name, password] of Object.entries(users)) {
    execFileSync('mosquitto_passwd', ['-b', file, name, password]);
  }
  chmodSync(file, 0o644);
  chmodSync(dir, 0o755);
  return file;
}
