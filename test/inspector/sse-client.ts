import { request } from 'node:http';

/**
 * A server-sent events client for tests and the bench (Node has no EventSource): one GET with
 * the given Authorization header, events parsed as they arrive and stamped with Date.now().
 */
export interface StreamMessage {
  event: string;
  data: unknown;
  receivedAt: number;
}

export interface StreamClient {
  events: StreamMessage[];
  onMessage(fn: (m: StreamMessage) => void): void;
  close(): void;
}

export function openStream(url: string, authorization: string): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const events: StreamMessage[] = [];
    const listeners: ((m: StreamMessage) => void)[] = [];
    const req = request(url, { headers: { authorization, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream answered ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length === 0) continue;
          const m = { event, data: JSON.parse(data.join('\n')) as unknown, receivedAt: Date.now() };
          events.push(m);
          for (const l of listeners) l(m);
        }
      });
      resolve({
        events,
        onMessage: (fn) => listeners.push(fn),
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => {
      if (!(err as NodeJS.ErrnoException).code?.startsWith('ECONNRESET')) reject(err);
    });
    req.end();
  });
}
