import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { LogTail } from './log-tail.js';

export type { Logger } from 'pino';

export interface LogSettings {
  level: string;
  /** pretty output is for development only; 'auto' means: pretty when stdout is a TTY and NODE_ENV is not production */
  pretty: 'auto' | boolean;
}

/** Keys whose values are secrets wherever they sit in a logged object (config shapes nest them). */
const SECRET_LOG_KEYS = [
  'password',
  'passwordHash',
  'passphrase',
  'privateKey',
  'key',
  'secret',
  'token',
];
/** pino redact needs explicit paths: the key itself and under up to 5 levels of wildcards */
const SECRET_DEPTH = 5;

function atEveryDepth(key: string): string[] {
  return Array.from({ length: SECRET_DEPTH + 1 }, (_, depth) =>
    [...Array<string>(depth).fill('*'), key].join('.'),
  );
}

/** Paths that must never reach a log line. */
export const REDACT_PATHS = [
  ...SECRET_LOG_KEYS.flatMap(atEveryDepth),
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
];

/** `tail`: also keep the last lines in memory (the console's log view; edge/log-tail.ts). */
export function createRootLogger(settings: LogSettings, tail?: LogTail): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  const pretty =
    settings.pretty === 'auto'
      ? process.stdout.isTTY && process.env.NODE_ENV !== 'production'
      : settings.pretty;
  const usePretty = pretty && prettyAvailable();
  if (!tail) {
    if (usePretty)
      return pino({
        ...options,
        transport: {
          target: 'pino-pretty',
          options: { colorize: true, translateTime: 'HH:MM:ss.l' },
        },
      });
    return pino(options);
  }
  const out: DestinationStream = usePretty
    ? pino.transport({
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l' },
      })
    : pino.destination(1);
  return pino(
    options,
    pino.multistream([
      { level: 'trace', stream: out },
      { level: 'trace', stream: tail },
    ]),
  );
}

/** A logger that drops everything: for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** pino-pretty is a development dependency: a production install (npm ci --omit=dev) lacks it. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}
