import { verify } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { isEdgeError } from '../errors.js';
import { argsHash } from './command-ids.js';
import { CommandValidator } from './command-validation.js';
import { jsonDepth } from './json-depth.js';
import {
  CHUNK_ITEMS,
  type LargeCommandJob,
  type LargeCommandMessage,
  type ToLargeCommandWorker,
} from './large-command-protocol.js';

/**
 * Worker thread of LargeCommandDecoder (large-command.ts): the Ed25519 signature of a large signed
 * command is verified over its exact bytes, then (only then) its payload is decoded (base64url),
 * depth-checked, parsed, its envelope and arguments validated (defaults filled in) and its
 * argsHash computed, all off the event loop.
 * Arrays in the arguments longer than CHUNK_ITEMS (a targeting list) go back in chunks, one
 * message each and each only when the main thread asks for it (NextChunk), so the main thread
 * deserialises one chunk per turn of its event loop.
 */

const port = parentPort;
if (!port) throw new Error('large-command-worker runs as a worker thread');
const validator = new CommandValidator();

/** chunks of a decoded job still to send, one per 'next' */
const pending = new Map<number, { key: string; items: unknown[] }[]>();
const send = (m: LargeCommandMessage) => port.postMessage(m);

port.on('message', (m: ToLargeCommandWorker) => {
  if (m.t === 'job') decode(m);
  else if (m.t === 'next') sendNext(m.job);
  else pending.delete(m.job);
});

function sendNext(job: number): void {
  const chunks = pending.get(job);
  const next = chunks?.shift();
  if (!next) {
    pending.delete(job);
    send({ job, t: 'done' });
    return;
  }
  send({ job, t: 'chunk', key: next.key, items: next.items });
}

function decode(job: LargeCommandJob): void {
  try {
    // the signature first: nothing of the payload is read before it verified
    const input = Buffer.from(
      job.signingInput.buffer,
      job.signingInput.byteOffset,
      job.signingInput.length,
    );
    if (!verify(null, input, job.key, job.signature)) {
      send({
        job: job.job,
        t: 'error',
        code: 'EDGE_COMMAND_SIGNATURE',
        message: 'signature does not verify',
      });
      return;
    }
    const payload = input.subarray(job.headerLength + 1);
    const bytes = Buffer.from(payload.toString('latin1'), 'base64url');
    if (jsonDepth(bytes, job.maxDepth) > job.maxDepth) {
      send({
        job: job.job,
        t: 'error',
        code: 'EDGE_COMMAND_TOO_LARGE',
        message: `command nested deeper than ${job.maxDepth} levels`,
      });
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      send({
        job: job.job,
        t: 'error',
        code: 'EDGE_COMMAND_INVALID',
        message: `command is not JSON: ${(err as Error).message}`,
      });
      return;
    }
    const request = validator.request(doc);
    const hash = argsHash(request);
    const args = validator.validateArgs(job.name, request.args ?? {});
    const small: Record<string, unknown> = {};
    const arrays: { key: string; length: number }[] = [];
    for (const [key, value] of Object.entries(args)) {
      if (Array.isArray(value) && value.length > CHUNK_ITEMS) {
        arrays.push({ key, length: value.length });
      } else small[key] = value;
    }
    const { args: _args, ...envelope } = request;
    const chunks: { key: string; items: unknown[] }[] = [];
    for (const { key } of arrays) {
      const list = args[key] as unknown[];
      for (let i = 0; i < list.length; i += CHUNK_ITEMS)
        chunks.push({ key, items: list.slice(i, i + CHUNK_ITEMS) });
    }
    pending.set(job.job, chunks);
    send({ job: job.job, t: 'head', envelope, hash, args: small, arrays });
  } catch (err) {
    send({
      job: job.job,
      t: 'error',
      code: isEdgeError(err) ? err.code : 'EDGE_COMMAND_FAILED',
      message: (err as Error).message,
      ...(isEdgeError(err) && err.details !== undefined ? { details: err.details } : {}),
    });
  }
}
