import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { EdgeError } from '../errors.js';
import type { LargeCommandJob, LargeCommandMessage, NextChunk } from './large-command-protocol.js';
import type { CommandRequest } from './schemas.js';

/**
 * Decodes the payload of a large signed command (above INLINE_MAX_BYTES) on a worker thread:
 * base64url, depth check, JSON.parse, envelope and argument validation, argsHash. A 500,000-entry
 * targeting list takes seconds of CPU to parse and validate on a Raspberry-Pi-class machine; on
 * the event loop that would stall the gate controller's heartbeat into its safe state. The
 * result comes back in chunk messages (large-command-protocol.ts), each deserialised in its own
 * turn of the event loop. One worker, started on first use, jobs in arrival order.
 */

/** a verified payload above this is decoded on the worker thread */
export const INLINE_MAX_BYTES = 256 * 1024;
/** the worker's old-generation heap (a 500,000-entry list needs about a third of it) */
const WORKER_HEAP_MB = 512;

export interface DecodedCommand {
  request: CommandRequest;
  /** validated arguments with defaults filled in */
  args: Record<string, unknown>;
  /** argsHash of the request as received (command-ids.ts) */
  hash: string;
}

interface Pending {
  resolve: (d: DecodedCommand) => void;
  reject: (e: Error) => void;
  head: Extract<LargeCommandMessage, { t: 'head' }> | null;
  arrays: Map<string, unknown[]>;
}

export class LargeCommandDecoder {
  private worker: Worker | null = null;
  private nextJob = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly log: Logger) {}

  decode(name: string, payload: Buffer, maxDepth: number): Promise<DecodedCommand> {
    const worker = this.ensureWorker();
    const job = this.nextJob++;
    // a copy the worker owns (the MQTT payload may be a view into a larger buffer)
    const copy = new Uint8Array(payload.length);
    copy.set(payload);
    return new Promise((resolve, reject) => {
      this.pending.set(job, { resolve, reject, head: null, arrays: new Map() });
      const message: LargeCommandJob = { t: 'job', job, name, payload: copy, maxDepth };
      worker.postMessage(message, [copy.buffer]);
    });
  }

  /** Stop the worker; pending decodes fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failAll('the command decoder stopped');
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const ts = import.meta.url.endsWith('.ts');
    const url = new URL(`./large-command-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
    // under tsx (development, tests) the worker registers tsx's loader before loading the .ts file
    // a bounded heap: a payload that needs more kills the worker (the command fails), not the gateway
    const resourceLimits = { maxOldGenerationSizeMb: WORKER_HEAP_MB };
    const worker = ts
      ? new Worker(
          `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`,
          { eval: true, resourceLimits },
        )
      : new Worker(url, { resourceLimits });
    worker.unref();
    worker.on('message', (m: LargeCommandMessage) => this.onMessage(m));
    worker.on('error', (err) => {
      this.log.error({ err }, 'large-command worker failed');
      if (this.worker === worker) this.worker = null;
      this.failAll(`the command decoder failed: ${err.message}`);
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(`the command decoder exited (${code})`);
    });
    this.worker = worker;
    return worker;
  }

  private onMessage(m: LargeCommandMessage): void {
    const p = this.pending.get(m.job);
    if (!p) return;
    switch (m.t) {
      case 'head':
        p.head = m;
        for (const a of m.arrays) p.arrays.set(a.key, []);
        this.askNext(m.job);
        return;
      case 'chunk': {
        const list = p.arrays.get(m.key);
        if (list) for (const item of m.items) list.push(item);
        this.askNext(m.job);
        return;
      }
      case 'error':
        this.pending.delete(m.job);
        p.reject(new EdgeError(m.code, m.message, { details: m.details }));
        return;
      case 'done': {
        this.pending.delete(m.job);
        const head = p.head;
        if (!head) {
          p.reject(new EdgeError('EDGE_COMMAND_FAILED', 'the command decoder sent no result'));
          return;
        }
        const args: Record<string, unknown> = { ...head.args };
        for (const [key, list] of p.arrays) args[key] = list;
        p.resolve({ request: { ...head.envelope, args }, args, hash: head.hash });
        return;
      }
    }
  }

  /** The next chunk, asked for in a later turn of the event loop (one chunk per turn). */
  private askNext(job: number): void {
    setImmediate(() => {
      const next: NextChunk = { t: 'next', job };
      this.worker?.postMessage(next);
    });
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new EdgeError('EDGE_COMMAND_FAILED', message));
    this.pending.clear();
  }
}
