import { format } from 'node:util';
import { setDebugLogger, setErrorLogger, setTraceLogger, setWarningLogger } from 'node-opcua-debug';
import type { Logger } from 'pino';

/**
 * node-opcua writes its warnings and errors with console.log (through node-opcua-debug's
 * loggers); route them through pino so they reach the same log (journald, the console's log
 * view) as everything else, without colour codes. node-opcua keeps these loggers per process,
 * so the first OPC UA driver sets them once.
 */
let routed = false;

const clean = (args: unknown[]) =>
  format(...args)
    .replace(/\x1b\[[0-9;]*m/g, '')
    .trim();

export function routeNodeOpcuaLogs(log: Logger): void {
  if (routed) return;
  routed = true;
  const out = log.child({ module: 'node-opcua' });
  setErrorLogger((...args: unknown[]) => out.error(clean(args)));
  setWarningLogger((...args: unknown[]) => out.warn(clean(args)));
  setDebugLogger((...args: unknown[]) => out.debug(clean(args)));
  setTraceLogger((...args: unknown[]) => out.trace(clean(args)));
}
