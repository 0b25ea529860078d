import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../support/mosquitto.js';

/**
 * The OPC UA simulator (drivers/opcua/sim/ct-plc-server.ts) as a real child process: same port
 * and PKI folder across kill / restart, so the gateway sees the same server come back.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'drivers/opcua/sim/ct-plc-server.ts');

export interface SimMessage {
  event: string;
  [k: string]: unknown;
}

export class OpcuaSim {
  private child: ChildProcess | null = null;
  readonly pkiDir: string;
  readonly messages: SimMessage[] = [];
  private listeners = new Set<(m: SimMessage) => void>();
  thumbprint = '';
  stderr = '';

  constructor(
    readonly port: number,
    private readonly extraArgs: string[] = [],
  ) {
    this.pkiDir = mkdtempSync(join(tmpdir(), 'opcua-sim-pki-'));
  }

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.child) return;
    // one process (node --import tsx), so SIGKILL really kills the server
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        SCRIPT,
        '--port',
        String(this.port),
        '--pki',
        this.pkiDir,
        ...this.extraArgs,
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return; // node-opcua prints its own warnings on stdout
      let m: SimMessage;
      try {
        m = JSON.parse(line) as SimMessage;
      } catch {
        return;
      }
      this.messages.push(m);
      for (const l of this.listeners) l(m);
    });
    const ready = await this.next((m) => m.event === 'ready' || m.event === 'fatal', timeoutMs);
    if (ready.event !== 'ready') throw new Error(`simulator failed: ${JSON.stringify(ready)}`);
    this.thumbprint = String(ready.thumbprint);
  }

  /** Wait for the next message matching `pred` (messages already received do not count). */
  next(pred: (m: SimMessage) => boolean, timeoutMs = 30_000): Promise<SimMessage> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(
          new Error(
            `simulator: no matching message within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      const l = (m: SimMessage) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.listeners.delete(l);
        resolvePromise(m);
      };
      this.listeners.add(l);
    });
  }

  send(cmd: Record<string, unknown>): void {
    if (!this.child?.stdin) throw new Error('simulator not running');
    this.child.stdin.write(JSON.stringify(cmd) + '\n');
  }

  /** Send and wait for the answer of that command. */
  async command(cmd: Record<string, unknown>, timeoutMs = 30_000): Promise<SimMessage> {
    const name = String(cmd.cmd);
    const answer = this.next(
      (m) => (m.event === 'ok' && m.cmd === name) || m.event === name || m.event === 'error',
      timeoutMs,
    );
    this.send(cmd);
    const m = await answer;
    if (m.event === 'error') throw new Error(`simulator: ${String(m.message)}`);
    return m;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill('SIGCONT'); // a frozen process must be able to die
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGKILL');
    });
  }

  /** SIGSTOP / SIGCONT: the server freezes with its TCP connections open (a network stall). */
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

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.pkiDir, { recursive: true, force: true });
  }
}

export async function startSim(extraArgs: string[] = []): Promise<OpcuaSim> {
  const sim = new OpcuaSim(await freePort(), extraArgs);
  await sim.start();
  return sim;
}
