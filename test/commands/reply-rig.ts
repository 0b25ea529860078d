import { systemClock, type Clock } from '../../edge/clock.js';
import { EdgeError } from '../../edge/errors.js';
import {
  CommandRouter,
  type CommandHandlers,
  type CommandTransport,
} from '../../edge/commands/router.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ReplyStore, type ReplyStoreOptions } from '../../edge/commands/reply-store.js';
import type { CommandReply } from '../../edge/commands/schemas.js';
import type { EventDraft } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import { Topics } from '../../edge/uplink/topics.js';
import { payloadFor, testCommandKeys } from '../support/command-signing.js';
import { tempDir, uplinkConfig } from '../uplink/helpers.js';

/** One publish the fake transport accepted: the exact text, topic and correlation data. */
export interface SentReply {
  topic: string;
  payload: string;
  correlation: Buffer | undefined;
}

/**
 * The uplink seen by a router: `connected`, `failing` and `refuse` are set by the test;
 * `connect()` fires the connect listeners (as the uplink does on every CONNACK). Offline or
 * failing (the connection dropping under the publish), publishReply rejects as the uplink does
 * offline (EDGE_UPLINK_OFFLINE); `refuse` returns the error of a broker refusing one message
 * (a PUBACK reason code, EDGE_UPLINK_TOO_LARGE) while the link stays up.
 */
export class FakeReplyLink {
  connected = true;
  failing = false;
  refuse: ((topic: string, payload: string) => Error | null) | null = null;
  attempts = 0;
  readonly sent: SentReply[] = [];
  private readonly listeners = new Set<() => void>();

  publishReply(topic: string, payload: string, correlation?: Buffer): Promise<void> {
    this.attempts++;
    if (!this.connected || this.failing)
      return Promise.reject(new EdgeError('EDGE_UPLINK_OFFLINE', 'uplink is not connected'));
    const refused = this.refuse?.(topic, payload);
    if (refused) return Promise.reject(refused);
    this.sent.push({ topic, payload, correlation });
    return Promise.resolve();
  }

  onConnected(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connect(): void {
    this.connected = true;
    for (const l of this.listeners) l();
  }
}

/**
 * A command router on a fake transport (replies collected in memory) with an optional durable
 * reply store: what a restart sees is decided by the store's SQLite file, not by the transport.
 */
export function replyRig(o: {
  handlers: CommandHandlers;
  store?: ReplyStore;
  clock?: Clock;
  handlerTimeoutMs?: number;
  link?: FakeReplyLink;
  lateReplyMaxAgeMs?: number;
  lateReplyRetryMs?: number;
  /** a reply store was configured but could not be opened */
  storeError?: Error;
}) {
  const topics = new Topics('customs', 'site-a', 'gw-durable');
  const published: CommandReply[] = [];
  const audit: EventDraft[] = [];
  const link = o.link;
  const transport: CommandTransport = {
    topics,
    onMessage: () => undefined,
    publishReply: async (topic, payload, correlation) => {
      if (link) await link.publishReply(topic, payload, correlation);
      published.push(JSON.parse(payload) as CommandReply);
    },
    replay: () => true,
  };
  if (link) {
    // a live getter (a spread would copy the value once)
    Object.defineProperty(transport, 'connected', { get: () => link.connected });
    transport.onConnected = (l) => link.onConnected(l);
  }
  const config = uplinkConfig({
    url: 'mqtt://127.0.0.1:1',
    commands: {
      signing: { keys: testCommandKeys() },
      ...(o.handlerTimeoutMs ? { handlerTimeoutMs: o.handlerTimeoutMs } : {}),
    },
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
    ...(o.storeError ? { replyStoreError: o.storeError } : {}),
    ...(o.lateReplyMaxAgeMs !== undefined ? { lateReplyMaxAgeMs: o.lateReplyMaxAgeMs } : {}),
    ...(o.lateReplyRetryMs !== undefined ? { lateReplyRetryMs: o.lateReplyRetryMs } : {}),
  });
  const send = (
    name: string,
    id: string,
    args?: Record<string, unknown>,
    mqtt5?: { responseTopic: string; correlationData: Buffer },
    envelope?: { expiresAt?: string },
  ) =>
    router.handle({
      topic: topics.command(name),
      payload: Buffer.from(
        payloadFor(
          name,
          { schema: 1, id, ...envelope, ...(args ? { args } : {}) },
          `${topics.site}/${topics.gatewayId}`,
          { nowMs: (o.clock ?? systemClock).wallMs() },
        ),
      ),
      ...(mqtt5 ?? {}),
    });
  return { router, send, published, audit, topics };
}

/** Reply-store files in temp folders, and the stores opened on them; `cleanup` in afterEach. */
export function replyStoreFiles(prefix: string) {
  const dirs: string[] = [];
  const stores: ReplyStore[] = [];
  const storeFile = (): string => {
    const dir = tempDir(prefix);
    dirs.push(dir);
    return join(dir, 'command-replies.sqlite');
  };
  const openStore = (file: string, extra: Partial<ReplyStoreOptions> = {}): ReplyStore => {
    const store = new ReplyStore({ file, wallMs: () => Date.now(), log: silentLogger(), ...extra });
    stores.push(store);
    return store;
  };
  /** Close the store opened last (a process that ends). */
  const closeLast = (): void => stores.pop()?.close();
  const cleanup = (): void => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  };
  return { storeFile, openStore, closeLast, cleanup };
}
