import AjvModule, { type ValidateFunction } from 'ajv';
import type { Logger } from 'pino';
import type { UplinkConfig } from '../../config/schema.js';
import { toIssues } from '../../config/loader.js';
import type { Clock } from '../clock.js';
import { EdgeError, isEdgeError, type EdgeErrorCode } from '../errors.js';
import { withoutSecrets } from '../http/redact.js';
import type { EventDraft, Stream } from '../events/model.js';
import type { InboundMessage } from '../uplink/uplink.js';
import type { Topics } from '../uplink/topics.js';
import {
  COMMAND_ARGS,
  COMMAND_SCHEMA_VERSION,
  CommandRequestSchema,
  type CommandName,
  type CommandReply,
  type CommandRequest,
  type ConfigPutArgsT,
  type CtDecisionArgsT,
  type GateTestArgsT,
  type ReplayArgsT,
  type TargetingReplaceArgsT,
} from './schemas.js';

const Ajv = AjvModule.default;

/**
 * Routes platform commands: parse, validate (TypeBox schemas via Ajv, every error listed),
 * refuse expired ones, run each command id once (a re-sent id gets the cached reply), run the
 * handler with a timeout, answer every request (MQTT 5 response topic + correlation data, else
 * the `<base>/replies/<name>` fallback), and record state-changing commands as audit events.
 * ping, replay and config-get are implemented here; the others call handlers the gateway
 * registers, and answer EDGE_COMMAND_UNSUPPORTED while none is registered.
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
export interface CommandTransport {
  readonly topics: Topics;
  onMessage(handler: (m: InboundMessage) => void): void;
  publishReply(topic: string, payload: string, correlationData?: Buffer): Promise<void>;
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
}

const AUDITED: ReadonlySet<CommandName> = new Set([
  'replay',
  'config-put',
  'targeting-replace',
  'ct-decision',
  'gate-test',
]);
const CACHE_SIZE = 500;

export class CommandRouter {
  private readonly ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    strict: false,
    validateFormats: false,
  });
  private readonly validateRequest: ValidateFunction;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly replies = new Map<string, { name: string; reply: Promise<CommandReply> }>();
  private lastReplayAt = -Infinity;
  readonly counters = { received: 0, ok: 0, failed: 0, duplicates: 0, replyFailures: 0 };

  constructor(private readonly o: CommandRouterOptions) {
    this.validateRequest = this.ajv.compile(CommandRequestSchema);
    for (const [name, schema] of Object.entries(COMMAND_ARGS)) {
      this.validators.set(name, this.ajv.compile(schema));
    }
  }

  start(): void {
    this.o.transport.onMessage((m) => {
      void this.handle(m);
    });
  }

  /** Handle one inbound message; never throws. Resolves with the reply that was sent. */
  async handle(m: InboundMessage): Promise<CommandReply | null> {
    const name = this.o.transport.topics.commandName(m.topic);
    if (name === null) return null;
    this.counters.received++;
    let reply: CommandReply;
    let request: CommandRequest | null = null;
    try {
      request = this.parse(m.payload);
      const cached = this.replies.get(request.id);
      if (cached && cached.name !== name) {
        // ids are unique: a reused id for another command is refused, never answered from cache
        throw new EdgeError(
          'EDGE_COMMAND_INVALID',
          `command id '${request.id}' was already used for '${cached.name}'; ids must be unique`,
        );
      }
      if (cached) {
        this.counters.duplicates++;
        reply = await cached.reply;
      } else {
        const req = request;
        const pending = this.execute(name, req).then(
          (result) => this.reply(name, req.id, { ok: true, result }),
          (err: unknown) => this.reply(name, req.id, { ok: false, error: errorOf(err) }),
        );
        this.remember(req.id, name, pending);
        reply = await pending;
        if (reply.ok) this.counters.ok++;
        else this.counters.failed++;
        if (AUDITED.has(name as CommandName)) this.audit(name, req, reply);
      }
    } catch (err) {
      this.counters.failed++;
      reply = this.reply(name, request?.id ?? null, { ok: false, error: errorOf(err) });
    }
    const topic = m.responseTopic ?? this.o.transport.topics.reply(name);
    try {
      await this.o.transport.publishReply(topic, JSON.stringify(reply), m.correlationData);
    } catch (err) {
      this.counters.replyFailures++;
      this.o.log.warn({ err, command: name, id: reply.id }, 'command reply not published');
    }
    return reply;
  }

  private parse(payload: Buffer): CommandRequest {
    let doc: unknown;
    try {
      doc = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      throw new EdgeError('EDGE_COMMAND_INVALID', `command is not JSON: ${(err as Error).message}`);
    }
    if (!this.validateRequest(doc)) {
      const issues = toIssues(this.validateRequest.errors ?? [], '');
      throw new EdgeError('EDGE_COMMAND_INVALID', describe(issues), { details: issues });
    }
    return doc as CommandRequest;
  }

  private async execute(name: string, req: CommandRequest): Promise<Result> {
    const validate = this.validators.get(name);
    if (!validate) {
      throw new EdgeError(
        'EDGE_COMMAND_UNKNOWN',
        `unknown command '${name}' (known: ${[...this.validators.keys()].join(', ')})`,
      );
    }
    if (req.expiresAt !== undefined) {
      const expires = Date.parse(req.expiresAt);
      if (Number.isNaN(expires)) {
        throw new EdgeError('EDGE_COMMAND_INVALID', '/expiresAt: must be an ISO date-time');
      }
      if (expires < this.o.clock.wallMs()) {
        throw new EdgeError('EDGE_COMMAND_EXPIRED', `command expired at ${req.expiresAt}`);
      }
    }
    const args = structuredClone(req.args ?? {});
    if (!validate(args)) {
      const issues = toIssues(validate.errors ?? [], '/args');
      throw new EdgeError('EDGE_COMMAND_INVALID', describe(issues), { details: issues });
    }
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

  private remember(id: string, name: string, reply: Promise<CommandReply>): void {
    this.replies.set(id, { name, reply });
    if (this.replies.size > CACHE_SIZE) {
      const oldest = this.replies.keys().next().value;
      if (oldest !== undefined) this.replies.delete(oldest);
    }
  }

  private audit(name: string, req: CommandRequest, reply: CommandReply): void {
    const args = req.args ?? {};
    const summary: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(args)) {
      if (k === 'config') summary.config = '[document]';
      else if (Array.isArray(v)) summary[k] = `[${v.length} items]`;
      else summary[k] = v;
    }
    this.o.record([
      {
        type: 'command.executed',
        parcelId: typeof args.parcelId === 'string' ? args.parcelId : null,
        atMono: this.o.clock.monoMs(),
        payload: {
          command: name,
          id: req.id,
          ok: reply.ok,
          ...(reply.error ? { error: reply.error.code } : {}),
          args: summary,
        },
      },
    ]);
  }
}

function errorOf(err: unknown): NonNullable<CommandReply['error']> {
  if (isEdgeError(err)) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  const code: EdgeErrorCode = 'EDGE_COMMAND_FAILED';
  return { code, message: err instanceof Error ? err.message : String(err) };
}

function describe(issues: Array<{ path: string; message: string }>): string {
  return `invalid command: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
}

/** A deep copy with secret values (and passwords inside URLs) replaced. */
export function redact(value: unknown): unknown {
  return withoutSecrets(value);
}
