import type { KeyObject } from 'node:crypto';
import type { EdgeErrorCode } from '../errors.js';
import type { CommandRequest } from './schemas.js';

/** Messages between LargeCommandDecoder and its worker thread (large-command-worker.ts). */

/** items per chunk message: deserialising one on the main thread takes a few milliseconds */
export const CHUNK_ITEMS = 5000;

export interface LargeCommandJob {
  t: 'job';
  job: number;
  name: string;
  /** `header '.' payload` of the compact JWS: what the signature covers (transferred) */
  signingInput: Uint8Array;
  /** length of the base64url header in signingInput */
  headerLength: number;
  signature: Uint8Array;
  /** the pinned public key the header names */
  key: KeyObject;
  maxDepth: number;
}

/**
 * The main thread asks for the next chunk once it handled one: a MessagePort delivers every
 * queued message in one turn of the event loop, so chunks sent unasked would be deserialised
 * back to back, stalling it as one big message would.
 */
export interface NextChunk {
  t: 'next';
  job: number;
}

/** The main thread refused the command on its signed claims: the worker drops what it holds. */
export interface DropJob {
  t: 'drop';
  job: number;
}

export type ToLargeCommandWorker = LargeCommandJob | NextChunk | DropJob;

export type LargeCommandMessage =
  | {
      job: number;
      t: 'head';
      envelope: Omit<CommandRequest, 'args'>;
      hash: string;
      /** the arguments, without the arrays that follow in chunks */
      args: Record<string, unknown>;
      arrays: { key: string; length: number }[];
    }
  | { job: number; t: 'chunk'; key: string; items: unknown[] }
  | { job: number; t: 'done' }
  | { job: number; t: 'error'; code: EdgeErrorCode; message: string; details?: unknown };
