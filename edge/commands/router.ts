import type { Logger } from 'pino';
import type { UplinkConfig } from '../../config/schema.js';
import type { Clock } from '../clock.js';
import { isEdgeError } from '../errors.js';
import { withoutSecrets } from '../../config/secrets.js';
import type { EventDraft, Stream } from '../events/model.js';
import type { InboundMessage } from '../uplink/uplink.js';
import type { Topics } from '../uplink/topics.js';
import { ReplyDelivery, type ReplyTransport } from './reply-delivery.js';
import type { ReplyStore } from './reply-store.js';
import { auditEvent, errorOf, refusalEvent, RefusalAuditLimit } from './command-audit.js';
import {
  CommandAuthority,
  CommandDropped,
  CommandRefusal,
  type CommandSigner,
  type OpenedCommand,
} from './command-auth.js';
import { argsHash, CommandIds } from './command-ids.js';
import { CommandValidator } from './command-validation.js';
import { withTimeout } from './handler-timeout.js';
import { NonceStore } from './nonce-store.js';
import { ReplayCommand } from './replay-command.js';
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
 * Routes platform commands. First the CommandAuthority (command-auth.ts): retained, oversized
 * and too deeply nested commands are refused unread; a command that changes how parcels are
 * handled (targeting list, config, officer decision, gate test, a replay of more than
 * unsignedReplayMaxEvents) must be signed with a pinned platform key for this gateway, its role,
 * unexpired and with a fresh nonce. A refusal is answered with its EDGE_COMMAND_* error and
 * audited as `command.refused`; the audit of a command that ran names its signer.
 * Then: parse, validate (TypeBox schemas via Ajv, every error listed),
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
  /** who signed the command (null: an unsigned read-only command or small replay) */
  signer: CommandSigner | null;
  /** the signer as the audit names it: `<issuer>/<key id>[:<act>]`, or 'unsigned' */
  actor: string;
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
  /**
   * nonces of signed commands (command-auth.ts); default in memory only. The subject signed
   * commands must name is `<site>/<gateway id>` of the transport's topics.
   */
  nonces?: NonceStore;
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
  private readonly authority: CommandAuthority;
  private readonly refusalAudit = new RefusalAuditLimit();
  private readonly ownNonces: NonceStore | null;
  private readonly replays: ReplayCommand;
  private readonly ids: CommandIds;
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
    /** refused before running: unsigned, bad signature, expired, replayed, too large, retained */
    refused: 0,
    /** not answered: more than maxQueued commands were waiting to be checked */
    dropped: 0,
  };

  constructor(private readonly o: CommandRouterOptions) {
    const store = o.replyStore;
    const topics = o.transport.topics;
    this.replays = new ReplayCommand({
      settings: o.settings,
      clock: o.clock,
      lastSeq: o.lastSeq,
      replay: (stream, from, to, max) => o.transport.replay(stream, from, to, max),
    });
    this.ownNonces = o.nonces ? null : new NonceStore({ wallMs: o.clock.wallMs, log: o.log });
    this.authority = new CommandAuthority({
      settings: o.settings,
      subject: `${topics.site}/${topics.gatewayId}`,
      nonces: o.nonces ?? this.ownNonces!,
      validator: this.validator,
      wallMs: o.clock.wallMs,
      log: o.log,
    });
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
      pinnedKeys: this.authority.pinnedKeys,
      backlog: this.authority.backlog,
      refusalsNotAudited: this.refusalAudit.suppressedTotal,
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
    void this.authority.close();
    this.ownNonces?.close();
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
      const opened = await this.authority.open(name, m);
      request = opened.request;
      const hash = opened.decoded?.hash ?? argsHash(request);
      // ids are unique: a reused id for another command or other arguments throws
      const cached = this.ids.seen(name, request.id, hash);
      if (cached) {
        this.counters.duplicates++;
        reply = await cached.reply;
      } else {
        const req = request;
        durable = this.ids.begin(name, req.id, to, hash);
        if (durable) this.answering.add(req.id);
        const pending = this.execute(name, req, opened)
          .then(
            (result) => this.reply(name, req.id, { ok: true, result }),
            (err: unknown) => this.reply(name, req.id, { ok: false, error: errorOf(err) }),
          )
          .then((r) => (durable ? this.ids.finish(r) : r));
        this.ids.remember(req.id, name, pending, hash);
        reply = await pending;
        if (reply.ok) this.counters.ok++;
        else this.counters.failed++;
        if (AUDITED.has(name as CommandName)) this.audit(name, req, reply, opened.signer);
      }
    } catch (err) {
      if (err instanceof CommandDropped) {
        this.counters.dropped++;
        return null;
      }
      this.counters.failed++;
      if (isEdgeError(err) && err.code === 'EDGE_COMMAND_REPLY_STORE') this.counters.storeRefused++;
      let id = request?.id ?? null;
      if (err instanceof CommandRefusal) {
        this.counters.refused++;
        id ??= err.audit.requestId ?? null;
        this.refused(name, id, err, m);
      }
      reply = this.reply(name, id, { ok: false, error: errorOf(err) });
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

  private async execute(name: string, req: CommandRequest, opened: OpenedCommand): Promise<Result> {
    const now = this.o.clock.wallMs();
    let args: Record<string, unknown>;
    if (opened.decoded) {
      this.validator.checkExpiry(req, now); // the worker validated and filled the arguments
      args = opened.decoded.args;
    } else {
      args = this.validator.args(name, req, now);
    }
    const signer = opened.signer;
    const ctx: CommandContext = {
      commandId: req.id,
      command: name as CommandName,
      signer,
      actor: signer
        ? `${signer.issuer}/${signer.keyId}${signer.actor ? `:${signer.actor}` : ''}`
        : 'unsigned',
    };
    const h = this.o.handlers;
    const timeoutMs = this.o.settings.handlerTimeoutMs;
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
        return this.replays.run(args as ReplayArgsT, signer);
      case 'config-put':
        return withTimeout(name, h.putConfig, args as ConfigPutArgsT, ctx, timeoutMs);
      case 'targeting-replace':
        return withTimeout(name, h.replaceTargeting, args as TargetingReplaceArgsT, ctx, timeoutMs);
      case 'ct-decision':
        return withTimeout(name, h.ctDecision, args as CtDecisionArgsT, ctx, timeoutMs);
      case 'gate-test':
        return withTimeout(name, h.gateTest, args as GateTestArgsT, ctx, timeoutMs);
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

  private audit(
    name: string,
    req: CommandRequest,
    reply: CommandReply,
    signer: CommandSigner | null,
  ): void {
    this.o.record([auditEvent(name, req, reply, this.o.clock.monoMs(), signer)]);
  }

  /**
   * A refused command: logged and audited, at most RefusalAuditLimit's rate (a flood of bad
   * commands fills neither the outbox nor the log; the rest are counted).
   */
  private refused(name: string, id: string | null, err: CommandRefusal, m: InboundMessage): void {
    const suppressed = this.refusalAudit.admit(this.o.clock.monoMs());
    if (suppressed === null) return;
    this.o.log.warn(
      {
        command: name,
        id,
        code: err.code,
        reason: err.message,
        signer: err.audit.signer ? `${err.audit.signer.issuer}/${err.audit.signer.keyId}` : null,
        bytes: m.payload.length,
      },
      'command refused',
    );
    this.o.record([
      refusalEvent(name, id, err, {
        atMono: this.o.clock.monoMs(),
        bytes: m.payload.length,
        retained: m.retain === true,
        suppressedBefore: suppressed,
      }),
    ]);
  }
}

/** A deep copy with secret values (and passwords inside URLs) replaced. */
export function redact(value: unknown): unknown {
  return withoutSecrets(value);
}
