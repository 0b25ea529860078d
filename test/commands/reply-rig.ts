import { systemClock, type Clock } from '../../edge/clock.js';
import {
  CommandRouter,
  type CommandHandlers,
  type CommandTransport,
} from '../../edge/commands/router.js';
import type { ReplyStore } from '../../edge/commands/reply-store.js';
import type { CommandReply } from '../../edge/commands/schemas.js';
import type { EventDraft } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import { Topics } from '../../edge/uplink/topics.js';
import { uplinkConfig } from '../uplink/helpers.js';

/**
 * A command router on a fake transport (replies collected in memory) with an optional durable
 * reply store: what a restart sees is decided by the store's SQLite file, not by the transport.
 */
export function replyRig(o: {
  handlers: CommandHandlers;
  store?: ReplyStore;
  clock?: Clock;
  handlerTimeoutMs?: number;
}) {
  const topics = new Topics('customs', 'site-a', 'gw-durable');
  const published: CommandReply[] = [];
  const audit: EventDraft[] = [];
  const transport: CommandTransport = {
    topics,
    onMessage: () => undefined,
    publishReply: (_topic, payload) => {
      published.push(JSON.parse(payload) as CommandReply);
      return Promise.resolve();
    },
    replay: () => true,
  };
  const config = uplinkConfig({
    url: 'mqtt://127.0.0.1:1',
    ...(o.handlerTimeoutMs ? { commands: { handlerTimeoutMs: o.handlerTimeoutMs } } : {}),
  });
  const router = new CommandRouter({
    transport,
    settings: config.commands,
    handlers: o.handlers,
    getConfig: () => ({}),
    lastSeq: () => 0,
    record: (d) => audit.push(...d),
    info: () => ({ gatewayId: 'gw-durable' }),
    clock: o.clock ?? systemClock,
    log: silentLogger(),
    ...(o.store ? { replyStore: o.store } : {}),
  });
  const send = (name: string, id: string, args?: Record<string, unknown>) =>
    router.handle({
      topic: topics.command(name),
      payload: Buffer.from(JSON.stringify({ schema: 1, id, ...(args ? { args } : {}) })),
    });
  return { router, send, published, audit };
}
