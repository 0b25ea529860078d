import { createRequire } from 'node:module';
import { pino, symbols, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { REDACTED, SECRET_FIELD_NAMES } from '../config/secrets.js';
import { DEFAULT_LOG_LIMIT, LogRateLimiter, type LogLimitSettings } from './log-limit.js';
import type { LogTail } from './log-tail.js';

export type { Logger } from 'pino';

export interface LogSettings {
  level: string;
  /** pretty output is for development only; 'auto' means: pretty when stdout is a TTY and NODE_ENV is not production */
  pretty: 'auto' | boolean;
  /** per-message-key rate limit (edge/log-limit.ts); defaults: DEFAULT_LOG_LIMIT */
  rateLimit?: Partial<Pick<LogLimitSettings, 'burst' | 'intervalMs'>>;
}

/** Where the root logger writes and how it tells time (tests); default: stdout, Date.now. */
export interface LogOutput {
  destination?: DestinationStream;
  nowMs?: () => number;
  /** keep the last lines in memory too (the console's log view) */
  tail?: LogTail;
}

/** pino redact needs explicit paths: the key itself and under up to 5 levels of wildcards */
const SECRET_DEPTH = 5;

function atEveryDepth(key: string): string[] {
  return Array.from({ length: SECRET_DEPTH + 1 }, (_, depth) =>
    [...Array<string>(depth).fill('*'), key].join('.'),
  );
}

/** Paths that must never reach a log line. */
export const REDACT_PATHS = [
  ...SECRET_FIELD_NAMES.flatMap(atEveryDepth),
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
];

/**
 * The root logger: JSON to stdout (pretty on a terminal in development), secrets redacted, every
 * message key rate-limited (edge/log-limit.ts). `output.tail` also keeps the last lines in memory
 * (the console's log view, edge/log-tail.ts); `output.destination` replaces stdout (tests).
 */
export function createRootLogger(settings: LogSettings, output: LogOutput = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    base: { pid: process.pid },
    hooks: {
      logMethod: rateLimitHook(
        { ...DEFAULT_LOG_LIMIT, ...settings.rateLimit },
        output.nowMs ?? Date.now,
      ),
    },
  };
  const pretty =
    settings.pretty === 'auto'
      ? process.stdout.isTTY && process.env.NODE_ENV !== 'production'
      : settings.pretty;
  const prettyTarget = {
    target: 'pino-pretty',
    options: { colorize: true, translateTime: 'HH:MM:ss.l' },
  };
  const usePretty = pretty && !output.destination && prettyAvailable();
  if (!output.tail) {
    if (output.destination) return pino(options, output.destination);
    return usePretty ? pino({ ...options, transport: prettyTarget }) : pino(options);
  }
  const out: DestinationStream =
    output.destination ?? (usePretty ? pino.transport(prettyTarget) : pino.destination(1));
  return pino(
    options,
    pino.multistream([
      { level: 'trace', stream: out },
      { level: 'trace', stream: output.tail },
    ]),
  );
}

type LogMethodHook = NonNullable<NonNullable<LoggerOptions['hooks']>['logMethod']>;
type LogFn = Parameters<LogMethodHook>[1];
interface Sink {
  logger: Logger;
  method: LogFn;
  msg: string;
}

const FATAL = 60;

/**
 * The pino `logMethod` hook applying a LogRateLimiter: the key is the level, the child's bindings
 * and the message template. A suppressed key's count is written with its message, as one line per
 * interval (`logSuppressed`), from the next call of that key or from an unref'd sweep timer.
 */
export function rateLimitHook(settings: LogLimitSettings, nowMs: () => number): LogMethodHook {
  const limiter = new LogRateLimiter<Sink>(settings, nowMs);
  const writeSummary = (s: { suppressed: number; sink: Sink }): void => {
    s.sink.method.call(
      s.sink.logger,
      { logSuppressed: s.suppressed, logIntervalS: Math.round(settings.intervalMs / 1000) },
      `${s.sink.msg} (repeated: ${s.suppressed} more lines not written)`,
    );
  };
  let timer: NodeJS.Timeout | null = null;
  const sweepLater = (): void => {
    if (timer) return;
    timer = setTimeout(
      () => {
        timer = null;
        for (const s of limiter.sweep()) writeSummary(s);
        if (limiter.size > 0) sweepLater();
      },
      Math.max(1000, settings.intervalMs),
    );
    timer.unref();
  };
  return function logMethod(this: Logger, args, method, level) {
    if (level >= FATAL) {
      method.apply(this, args);
      return;
    }
    const msg = messageOf(args);
    const bindings = (this as unknown as Record<symbol, unknown>)[symbols.chindingsSym];
    const key = `${level}\u0000${typeof bindings === 'string' ? bindings : ''}\u0000${msg}`;
    const { write, summary } = limiter.admit(key, { logger: this, method, msg });
    if (summary) writeSummary(summary);
    if (write) method.apply(this, args);
    else sweepLater();
  };
}

/** The message template of a log call: `(obj, msg, ...)`, `(msg, ...)` or `(err)`. */
function messageOf(args: unknown[]): string {
  const [first, second] = args;
  if (typeof first === 'string') return first;
  if (typeof second === 'string') return second;
  if (first instanceof Error) return first.message;
  return '';
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
