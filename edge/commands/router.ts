import type { Logger } from 'pino';
import type { UplinkConfig } from '../../config/schema.js';
import type { Clock } from '../clock.js';
import { EdgeError, isEdgeError } from '../errors.js';
import { withoutSecrets } from '../../config/secrets.js';
import type { EventDraft, Stream } from '../events/model.js';
import type { InboundMessage } from '../uplink/uplink.js';
import type { Topics } from '../uplink/topics.js';
import { ReplyDelivery, type ReplyTransport } from './reply-delivery.js';
import type { ReplyStore } from './reply-store.js';
import { auditEvent, errorOf } from './command-audit.js';
import { argsHash, CommandIds } from './command-ids.js';
import { CommandValidator } from './command-validation.js';
import {
  COMMAND_SCHEMA_VERSION,
  type CommandName,
  type CommandReply,
  type CommandRequest,
  type ConfigPutArgsT,
  type CtDecisionArgsT,
  type GateTestArgsT,
  type ReplayArgsT,
  type TargetingReplaceArgsT,
} from './schemas.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * Routes platform commands: parse, validate (TypeBox schemas via Ajv, every error listed),
 * refuse expired ones, run each command id once (a re-sent id gets the cached reply), run the
 * handler with a timeout, answer every request (MQTT 5 response topic + correlation data, else
 * the `<base>/replies/<name>` fallback), and record state-changing commands as audit events.
 * ping, replay and config-get are implemented here; the others call handlers the gateway
 * registers, and answer EDGE_COMMAND_UNSUPPORTED while none is registered.
 *
 * With a `replyStore` (edge/commands/reply-store.ts) a state-changing command id runs at most
 * once across restarts and kill -9: a 'started' row is committed before it runs and its reply
 * before the reply is published; a re-sent id is answered with the stored reply, and an id whose
 * run was cut by a dead process gets EDGE_COMMAND_INTERRUPTED (never a second run). Read-only
 * commands (ping, config-get) are not stored: running them again changes nothing. An id re-sent
 * with another command or other arguments is refused (command-ids.ts), never answered from cache.
 *
 * Without a `replyStore` ids are kept in memory only (tests, embedded use). A gateway whose store
 * failed to open passes `replyStoreError` instead: then state-changing commands are refused
 * (EDGE_COMMAND_REPLY_STORE: they could run twice after a restart), read-only ones still answer,
 * `health()` shows the store 'unavailable' and one `alarm.command-store` event is recorded.
 *
 * A stored reply is marked published only after its publish resolved. One that could not be
 * published (the config-put restart stops the old uplink; a crash) is delivered late, byte for
 * byte to its stored response topic with its correlation data, by the router that starts next
 * (reply-delivery.ts: on start, on every uplink connect, after failures with backoff).
 */

export interface CommandContext {
  commandId: string;
  command: CommandName;
}

type Result = Record<string, unknown>;

/** Handlers that live in other parts of the gateway, injected by the composition root. */
export interface CommandHandlers {
  putConfig?: (args: ConfigPutArgsT, ctx: CommandContext) => Promise<Result>;
  replaceTargeting?: (args: TargetingReplaceArgsT, ctx: CommandContext) => Promise<Result>;
  ctDecision?: (args: CtDecisionArgsT, ctx: CommandContext) => Promise<Result>;
  gateTest?: (args: GateTestArgsT, ctx: CommandContext) => Promise<Result>;
}

/** What the router needs from the uplink. */
export interface CommandTransport extends ReplyTransport {
  readonly topics: Topics;
  onMessage(handler: (m: InboundMessage) => void): void;
  replay(stream: Stream, fromSeq: number, toSeq: number, maxEvents: number): boolean;
}

export interface CommandRouterOptions {
  transport: CommandTransport;
  settings: UplinkConfig['commands'];
  handlers: CommandHandlers;
  /** the running configuration, for config-get (secrets are redacted here) */
  getConfig: () => unknown;
  /** last seq of a stream, to bound replays */
  lastSeq: (stream: Stream) => number;
  /** audit events into the outbox */
  record: (drafts: EventDraft[]) => void;
  info: () => Result;
  clock: Clock;
  log: Logger;
  /** durable replies: each state-changing command id runs at most once across restarts */
  replyStore?: ReplyStore;
  /** a reply store was configured but could not be opened: state-changing commands are refused */
  replyStoreError?: unknown;
  /** stored replies finished longer ago are not delivered late (default 1 h, reply-delivery.ts) */
  lateReplyMaxAgeMs?: number;
  /** first retry of a failed late delivery (doubles up to 60 s); default 1 s */
  lateReplyRetryMs?: number;
}

const AUDITED: ReadonlySet<CommandName> = new Set([
  'replay',
  'config-put',
  'targeting-replace',
  'ct-decision',
  'gate-test',
]);
/** how long past the handler timeout a re-send waits for a run of another router in this process */
const FOREIGN_WAIT_EXTRA_MS = 5_000;
export const COMMAND_STORE_ALARM = 'alarm.command-store';

export class CommandRouter {
  private readonly validator = new CommandValidator();
  private readonly ids: CommandIds;
  private lastReplayAt = -Infinity;
  /** ids whose reply this router is publishing itself (not delivered late behind its back) */
  private readonly answering = new Set<string>();
  private readonly delivery: ReplyDelivery | null;
  readonly counters = {
    received: 0,
    ok: 0,
    failed: 0,
    duplicates: 0,
    replyFailures: 0,
    /** state-changing commands not run: the reply store is unavailable or cannot record them */
    storeRefused: 0,
  };

  constructor(private readonly o: CommandRouterOptions) {
    const store = o.replyStore;
    this.ids = new CommandIds({
      store,
      storeError: o.replyStoreError,
      foreignWaitMs: o.settings.handlerTimeoutMs + FOREIGN_WAIT_EXTRA_MS,
      knows: (name) => this.validator.knows(name),
      reply: (name, id, body) => this.reply(name, id, body),
      record: o.record,
      clock: o.clock,
      log: o.log,
    });
    this.delivery = store
      ? new ReplyDelivery({
          store,
          transport: o.transport,
          clock: o.clock,
          log: o.log,
          runningMs: o.settings.handlerTimeoutMs + FOREIGN_WAIT_EXTRA_MS,
          busy: (id) => this.answering.has(id),
          interrupted: (name, id) => void this.ids.fromStore(name, id),
          ...(o.lateReplyMaxAgeMs !== undefined ? { maxAgeMs: o.lateReplyMaxAgeMs } : {}),
          ...(o.lateReplyRetryMs !== undefined ? { retryMs: o.lateReplyRetryMs } : {}),
        })
      : null;
  }

  /** Late deliveries: delivered, failures (retried), stale (too old, left), interrupted. */
  get lateReplies(): ReplyDelivery['counters'] | null {
    return this.delivery?.counters ?? null;
  }

  /** Where command ids are kept: 'durable' (the store), 'memory' (none configured), 'unavailable'. */
  get replyStoreState(): 'durable' | 'memory' | 'unavailable' {
    if (this.o.replyStore) return 'durable';
    return this.o.replyStoreError === undefined ? 'memory' : 'unavailable';
  }

  /** Counters and the reply store state, for the gateway's health. */
  health(): Record<string, unknown> {
    return {
      replyStore: this.replyStoreState,
      counters: { ...this.counters },
      lateReplies: this.lateReplies ? { ...this.lateReplies } : null,
    };
  }

  start(): void {
    this.o.transport.onMessage((m) => {
      void this.handle(m);
    });
    this.delivery?.start();
    if (this.replyStoreState === 'unavailable') {
      const err = this.o.replyStoreError;
      this.o.log.error({ err }, 'command reply store unavailable: state-changing commands refused');
      this.o.record([
        eventDraft(COMMAND_STORE_ALARM, null, this.o.clock.monoMs(), {
          code: 'EDGE_COMMAND_REPLY_STORE',
          message: err instanceof Error ? err.message : String(err),
        }),
      ]);
    }
  }

  /** Stop late deliveries (timer, connect listener); a command still running still answers. */
  stop(): void {
    this.delivery?.stop();
  }

  /** Handle one inbound message; never throws. Resolves with the reply that was sent. */
  async handle(m: InboundMessage): Promise<CommandReply | null> {
    const name = this.o.transport.topics.commandName(m.topic);
    if (name === null) return null;
    this.counters.received++;
    const topic = m.responseTopic ?? this.o.transport.topics.reply(name);
    const to = { topic, ...(m.correlationData ? { correlation: m.correlationData } : {}) };
    let reply: CommandReply;
    let request: CommandRequest | null = null;
    let durable = false;
    try {
      request = this.validator.parse(m.payload);
      const hash = argsHash(request);
      // ids are unique: a reused id for another command or other arguments throws
      const cached = this.ids.seen(name, request.id, hash);
      if (cached) {
        this.counters.duplicates++;
        reply = await cached.reply;
      } else {
        const req = request;
        durable = this.ids.begin(name, req.id, to, hash);
        if (durable) this.answering.add(req.id);
        const pending = this.execute(name, req)
          .then(
            (result) => this.reply(name, req.id, { ok: true, result }),
            (err: unknown) => this.reply(name, req.id, { ok: false, error: errorOf(err) }),
          )
          .then((r) => (durable ? this.ids.finish(r) : r));
        this.ids.remember(req.id, name, pending, hash);
        reply = await pending;
        if (reply.ok) this.counters.ok++;
        else this.counters.failed++;
        if (AUDITED.has(name as CommandName)) this.audit(name, req, reply);
      }
    } catch (err) {
      this.counters.failed++;
      if (isEdgeError(err) && err.code === 'EDGE_COMMAND_REPLY_STORE') this.counters.storeRefused++;
      reply = this.reply(name, request?.id ?? null, { ok: false, error: errorOf(err) });
    }
    const payload = JSON.stringify(reply);
    try {
      await this.o.transport.publishReply(topic, payload, m.correlationData);
      if (reply.id !== null) this.ids.markPublished(name, reply.id, payload);
    } catch (err) {
      this.counters.replyFailures++;
      this.o.log.warn({ err, command: name, id: reply.id }, 'command reply not published');
      if (durable) this.delivery?.failed(); // stored, unpublished: delivered late
    } finally {
      if (durable && reply.id !== null) this.answering.delete(reply.id);
    }
    return reply;
  }

  private async execute(name: string, req: CommandRequest): Promise<Result> {
    const args = this.validator.args(name, req, this.o.clock.wallMs());
    const ctx: CommandContext = { commandId: req.id, command: name as CommandName };
    const h = this.o.handlers;
    switch (name as CommandName) {
      case 'ping':
        return {
          pong: true,
          time: new Date(this.o.clock.wallMs()).toISOString(),
          ...this.o.info(),
          ...args,
        };
      case 'config-get':
        return { config: redact(this.o.getConfig()) };
      case 'replay':
        return this.replay(args as ReplayArgsT);
      case 'config-put':
        return this.withHandler(name, h.putConfig, args as ConfigPutArgsT, ctx);
      case 'targeting-replace':
        return this.withHandler(name, h.replaceTargeting, args as TargetingReplaceArgsT, ctx);
      case 'ct-decision':
        return this.withHandler(name, h.ctDecision, args as CtDecisionArgsT, ctx);
      case 'gate-test':
        return this.withHandler(name, h.gateTest, args as GateTestArgsT, ctx);
    }
  }

  private replay(args: ReplayArgsT): Result {
    const s = this.o.settings;
    const now = this.o.clock.monoMs();
    if (now - this.lastReplayAt < s.replayMinIntervalMs) {
      throw new EdgeError(
        'EDGE_COMMAND_RATE_LIMITED',
        `a replay was accepted ${Math.round(now - this.lastReplayAt)} ms ago; at most one per ${s.replayMinIntervalMs} ms`,
      );
    }
    const stream = args.stream;
    const maxEvents = Math.min(args.maxEvents ?? s.replayMaxEvents, s.replayMaxEvents);
    const last = this.o.lastSeq(stream);
    const toSeq = Math.min(args.toSeq ?? last, last, args.fromSeq + maxEvents - 1);
    if (toSeq < args.fromSeq) {
      return { stream, fromSeq: args.fromSeq, toSeq, accepted: 0, eventsPerS: s.replayEventsPerS };
    }
    if (!this.o.transport.replay(stream, args.fromSeq, toSeq, maxEvents)) {
      throw new EdgeError('EDGE_COMMAND_RATE_LIMITED', 'a replay is already running');
    }
    this.lastReplayAt = now;
    return {
      stream,
      fromSeq: args.fromSeq,
      toSeq,
      accepted: toSeq - args.fromSeq + 1,
      eventsPerS: s.replayEventsPerS,
    };
  }

  private async withHandler<A>(
    name: string,
    handler: ((args: A, ctx: CommandContext) => Promise<Result>) | undefined,
    args: A,
    ctx: CommandContext,
  ): Promise<Result> {
    if (!handler) {
      throw new EdgeError(
        'EDGE_COMMAND_UNSUPPORTED',
        `command '${name}' has no handler on this gateway`,
      );
    }
    const timeoutMs = this.o.settings.handlerTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new EdgeError(
              'EDGE_COMMAND_TIMEOUT',
              `'${name}' did not finish within ${timeoutMs} ms`,
            ),
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

  private reply(
    command: string,
    id: string | null,
    body: { ok: true; result: Result } | { ok: false; error: CommandReply['error'] },
  ): CommandReply {
    return {
      schema: COMMAND_SCHEMA_VERSION,
      id,
      command,
      ...body,
      time: new Date(this.o.clock.wallMs()).toISOString(),
    };
  }

  private audit(name: string, req: CommandRequest, reply: CommandReply): void {
    this.o.record([auditEvent(name, req, reply, this.o.clock.monoMs())]);
  }
}

/** A deep copy with secret values (and passwords inside URLs) replaced. */
export function redact(value: unknown): unknown {
  return withoutSecrets(value);
}
