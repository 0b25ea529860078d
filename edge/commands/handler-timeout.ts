import { EdgeError } from '../errors.js';

type Result = Record<string, unknown>;

/**
 * Run a command handler the gateway registered, at most `timeoutMs` (EDGE_COMMAND_TIMEOUT; the
 * handler may still finish later), or EDGE_COMMAND_UNSUPPORTED when none is registered.
 */
export async function withTimeout<A, C>(
  name: string,
  handler: ((args: A, ctx: C) => Promise<Result>) | undefined,
  args: A,
  ctx: C,
  timeoutMs: number,
): Promise<Result> {
  if (!handler) {
    throw new EdgeError(
      'EDGE_COMMAND_UNSUPPORTED',
      `command '${name}' has no handler on this gateway`,
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new EdgeError('EDGE_COMMAND_TIMEOUT', `'${name}' did not finish within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([handler(args, ctx), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
