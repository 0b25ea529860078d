import type { KeyObject } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { EdgeError } from '../errors.js';
import type {
  DropJob,
  LargeCommandJob,
  LargeCommandMessage,
  NextChunk,
} from './large-command-protocol.js';
import type { CommandRequest } from './schemas.js';

/**
 * A large signed command (above INLINE_MAX_BYTES) is checked on a worker thread: the Ed25519
 * signature over its exact bytes, then base64url, depth check, JSON.parse, envelope and argument
 * validation, argsHash. A 500,000-entry targeting list (34 MB signed) takes seconds of CPU to
 * parse and validate on a Raspberry-Pi-class machine, and even copying it takes tens of
 * milliseconds; on the event loop that would stall the gate controller's heartbeat into its safe
 * state. So the bytes go to the worker in 4 MB slices (one per turn of the event loop), and the
 * result comes back in chunk messages, each deserialised in its own turn, asked for only after
 * the caller checked the signed claims (`Verified.rest`). One worker, started on first use, jobs
 * in arrival order.
 */

/** a signed command above this is verified and decoded on the worker thread */
export const INLINE_MAX_BYTES = 256 * 1024;
/** the worker's old-generation heap (a 500,000-entry list needs about a third of it) */
const WORKER_HEAP_MB = 512;
/** bytes copied to the worker's buffer per turn of the event loop */
const COPY_SLICE = 4 * 1024 * 1024;

export interface DecodedCommand {
  request: CommandRequest;
  /** validated arguments with defaults filled in */
  args: Record<string, unknown>;
  /** argsHash of the request as received (command-ids.ts) */
  hash: string;
}

/** The signature verified and the payload decoded on the worker; the arguments still there. */
export interface Verified {
  /** fetch the arguments (chunk by chunk) */
  rest(): Promise<DecodedCommand>;
  /** the command was refused after all: the worker forgets it */
  drop(): void;
}

interface Pending {
  /** the first answer: verified and decoded (head), or an error */
  headed: (head: Extract<LargeCommandMessage, { t: 'head' }>) => void;
  failed: (e: Error) => void;
  head: Extract<LargeCommandMessage, { t: 'head' }> | null;
  arrays: Map<string, unknown[]>;
  finished: ((d: DecodedCommand) => void) | null;
}

export interface LargeCommandInput {
  name: string;
  /** `header '.' payload` (a view into the message) */
  signingInput: Buffer;
  headerLength: number;
  signature: Buffer;
  key: KeyObject;
  maxDepth: number;
}

export class LargeCommandDecoder {
  private worker: Worker | null = null;
  private nextJob = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly log: Logger) {}

  /** Verify and decode on the worker; resolves once both are done, rejects with EdgeError. */
  async verify(input: LargeCommandInput): Promise<Verified> {
    // a copy the worker owns (the MQTT payload may be a view into a larger buffer), in slices
    const n = input.signingInput.length;
    const copy = new Uint8Array(n);
    for (let at = 0; at < n; at += COPY_SLICE) {
      copy.set(input.signingInput.subarray(at, Math.min(n, at + COPY_SLICE)), at);
      if (at + COPY_SLICE < n) await nextTurn();
    }
    const worker = this.ensureWorker();
    const job = this.nextJob++;
    const pending: Pending = {
      headed: () => undefined,
      failed: () => undefined,
      head: null,
      arrays: new Map(),
      finished: null,
    };
    const head = new Promise<Extract<LargeCommandMessage, { t: 'head' }>>((resolve, reject) => {
      pending.headed = resolve;
      pending.failed = reject;
    });
    this.pending.set(job, pending);
    const message: LargeCommandJob = {
      t: 'job',
      job,
      name: input.name,
      signingInput: copy,
      headerLength: input.headerLength,
      signature: new Uint8Array(input.signature),
      key: input.key,
      maxDepth: input.maxDepth,
    };
    worker.postMessage(message, [copy.buffer]);
    await head;
    return {
      rest: () =>
        new Promise<DecodedCommand>((resolve, reject) => {
          pending.finished = resolve;
          pending.failed = reject;
          this.askNext(job);
        }),
      drop: () => {
        this.pending.delete(job);
        const drop: DropJob = { t: 'drop', job };
        this.worker?.postMessage(drop);
      },
    };
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
    // a bounded heap: a payload that needs more kills the worker (the command fails), not the gateway
    const resourceLimits = { maxOldGenerationSizeMb: WORKER_HEAP_MB };
    // under tsx (development, tests) the worker registers tsx's loader before loading the .ts file
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
        p.headed(m);
        return;
      case 'chunk': {
        const list = p.arrays.get(m.key);
        if (list) for (const item of m.items) list.push(item);
        this.askNext(m.job);
        return;
      }
      case 'error':
        this.pending.delete(m.job);
        p.failed(new EdgeError(m.code, m.message, { details: m.details }));
        return;
      case 'done': {
        this.pending.delete(m.job);
        const head = p.head;
        if (!head || !p.finished) {
          p.failed(new EdgeError('EDGE_COMMAND_FAILED', 'the command decoder sent no result'));
          return;
        }
        const args: Record<string, unknown> = { ...head.args };
        for (const [key, list] of p.arrays) args[key] = list;
        p.finished({ request: { ...head.envelope, args }, args, hash: head.hash });
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
    for (const p of this.pending.values()) p.failed(new EdgeError('EDGE_COMMAND_FAILED', message));
    this.pending.clear();
  }
}
