import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A server-sent event stream on a hijacked reply: `send(event, data)` writes one event; a
 * comment every 15 s keeps proxies from closing it; `onClose` runs when the client goes away.
 * The stream ends when the session that opened it ends (logout, idle timeout).
 */
export interface SseStream {
  send(event: string | null, data: unknown): void;
  onClose(fn: () => void): void;
  close(): void;
}

export function openSse(req: FastifyRequest, reply: FastifyReply): SseStream {
  const stillAllowed = req.sessionAlive ?? (() => true);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-content-type-options': 'nosniff',
  });
  const closers: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    for (const fn of closers) fn();
    res.end();
  };
  const keepAlive = setInterval(() => {
    if (!stillAllowed()) close();
    else res.write(': keep-alive\n\n');
  }, 15_000);
  req.raw.on('close', close);
  return {
    send(event, data) {
      if (closed) return;
      res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    },
    onClose(fn) {
      closers.push(fn);
    },
    close,
  };
}
