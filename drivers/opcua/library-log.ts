import { format } from 'node:util';
import type { Logger } from 'pino';
import { setDebugLogger, setErrorLogger, setWarningLogger } from 'node-opcua-client';

/**
 * node-opcua writes its warnings and errors straight to the console (chalk-coloured, a stack, and
 * sometimes a whole base64 certificate on every retry). Its loggers are process-wide hooks, so
 * the OPC UA driver routes them once to a pino child logger: each message is one JSON line with
 * the node-opcua source file and line, long blobs cut, at most 2 kB.
 */

const MAX_TEXT = 2048;
const BLOB = /[A-Za-z0-9+/=\r\n]{200,}/g;

interface NodeOpcuaContext {
  filename?: string;
  callerline?: number | string;
}

/** One node-opcua log call as text: formatted like console.log, blobs and colours removed. */
export function libraryText(args: readonly unknown[]): string {
  const text = format(...args)
    .replace(/\u001b\[[0-9;]*m/g, '')
    .replace(BLOB, (m) => `[${m.length} chars cut]`)
    .trim();
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}... [${text.length} chars]` : text;
}

/** after this many lines from one source line, only every REPEAT_EVERY-th is logged, with its count */
const FIRST = 20;
const REPEAT_EVERY = 500;

let routedTo: Logger | null = null;
const seen = new Map<string, number>();

function emit(level: 'warn' | 'error' | 'debug', context: unknown, args: unknown[]): void {
  const log = routedTo;
  if (!log || !log.isLevelEnabled(level)) return;
  const c = (context ?? {}) as NodeOpcuaContext;
  const source = c.filename ? `${c.filename}:${String(c.callerline ?? '?')}` : 'node-opcua';
  const count = (seen.get(source) ?? 0) + 1;
  seen.set(source, count);
  if (count > FIRST && count % REPEAT_EVERY !== 0) return;
  log[level]({ source, ...(count > FIRST ? { repeated: count } : {}) }, libraryText(args));
}

/** Route node-opcua's loggers to `log` (module node-opcua); a later call re-routes. */
export function routeNodeOpcuaLogs(log: Logger): void {
  routedTo = log.child({ module: 'node-opcua' });
  setWarningLogger((context: unknown, ...args: unknown[]) => emit('warn', context, args));
  setErrorLogger((context: unknown, ...args: unknown[]) => emit('error', context, args));
  setDebugLogger((context: unknown, ...args: unknown[]) => emit('debug', context, args));
}
