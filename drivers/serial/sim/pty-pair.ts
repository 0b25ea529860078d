import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgeError } from '../../../edge/errors.js';

/**
 * A socat pty pair: two real ttys joined back to back, reached through symlinks `a` and `b`.
 *   socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B
 * Killing socat is an unplug for whoever has either end open; starting it again brings the
 * paths back (as new ptys). Used by the simulators (npm start) and the tests.
 */
export class PtyPair {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  stderr = '';

  constructor(
    readonly a: string,
    readonly b: string,
    private readonly socat = 'socat',
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Start socat and wait until both links exist. */
  async start(timeoutMs = 10_000): Promise<void> {
    if (this.child) return;
    for (const link of [this.a, this.b]) {
      mkdirSync(dirname(link), { recursive: true });
      removeStaleLink(link);
    }
    const child = spawn(
      this.socat,
      ['-d', '-d', `pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    this.stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 8192) this.stderr += d.toString();
    });
    let spawnError: Error | null = null;
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        resolve();
      });
      child.once('exit', () => resolve());
    });
    void this.exited.then(() => {
      if (this.child === child) this.child = null;
    });
    const until = Date.now() + timeoutMs;
    while (!(existsSync(this.a) && existsSync(this.b))) {
      if (spawnError || this.child !== child || Date.now() > until) {
        const why = spawnError ? (spawnError as Error).message : this.stderr.trim() || 'timeout';
        await this.kill();
        throw new EdgeError(
          'EDGE_SERIAL_PTY',
          `socat did not create ${this.a} / ${this.b}: ${why}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** SIGKILL socat (an unplug) and wait until it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  /** Stop socat and remove the links. */
  async stop(): Promise<void> {
    await this.kill();
    for (const link of [this.a, this.b]) removeStaleLink(link);
  }
}

function removeStaleLink(path: string): void {
  try {
    if (lstatSync(path).isSymbolicLink()) unlinkSync(path);
  } catch {
    // absent
  }
}
