import type { CommandKeyConfig } from '../../config/command-security-schema.js';
import { systemClock, type Clock } from '../../edge/clock.js';
import type { NonceStore } from '../../edge/commands/nonce-store.js';
import {
  CommandRouter,
  type CommandContext,
  type CommandHandlers,
  type CommandTransport,
} from '../../edge/commands/router.js';
import type { CommandReply } from '../../edge/commands/schemas.js';
import type { EventDraft } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import type { InboundMessage } from '../../edge/uplink/inbound.js';
import { Topics } from '../../edge/uplink/topics.js';
import { testCommandKeys } from '../support/command-signing.js';
import { uplinkConfig } from '../uplink/helpers.js';

export const SUBJECT = 'site-s/gw-sec';

/**
 * A command router as the gateway builds it (authority, validation, ids), on a transport that
 * keeps the replies, with handlers that record what ran and who the router said signed it.
 */
export function securityRig(
  o: {
    keys?: CommandKeyConfig[];
    commands?: Record<string, unknown>;
    nonces?: NonceStore;
    clock?: Clock;
    handlers?: CommandHandlers;
  } = {},
) {
  const topics = new Topics('customs', 'site-s', 'gw-sec');
  const replies: CommandReply[] = [];
  const audit: EventDraft[] = [];
  const ran: { command: string; args: unknown; ctx: CommandContext }[] = [];
  const transport: CommandTransport = {
    topics,
    onMessage: () => undefined,
    publishReply: (_topic, payload) => {
      replies.push(JSON.parse(payload) as CommandReply);
      return Promise.resolve();
    },
    replay: () => true,
  };
  const record =
    (command: string) =>
    (args: unknown, ctx: CommandContext): Promise<Record<string, unknown>> => {
      ran.push({ command, args, ctx });
      return Promise.resolve({ ran: command });
    };
  const config = uplinkConfig({
    url: 'mqtt://127.0.0.1:1',
    commands: {
      signing: { keys: o.keys ?? testCommandKeys() },
      replayMinIntervalMs: 0,
      ...o.commands,
    },
  });
  const router = new CommandRouter({
    transport,
    settings: config.commands,
    handlers: o.handlers ?? {
      replaceTargeting: record('targeting-replace'),
      putConfig: record('config-put'),
      ctDecision: record('ct-decision'),
      gateTest: record('gate-test'),
    },
    getConfig: () => ({}),
    lastSeq: () => 1_000_000,
    record: (d) => audit.push(...d),
    info: () => ({ gatewayId: 'gw-sec' }),
    clock: o.clock ?? systemClock,
    log: silentLogger(),
    ...(o.nonces ? { nonces: o.nonces } : {}),
  });
  const send = (name: string, payload: string | Buffer, extra: Partial<InboundMessage> = {}) =>
    router.handle({
      topic: topics.command(name),
      payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
      ...extra,
    });
  const refusals = () => audit.filter((e) => e.type === 'command.refused').map((e) => e.payload);
  const executed = () => audit.filter((e) => e.type === 'command.executed').map((e) => e.payload);
  return { router, send, replies, audit, ran, refusals, executed, topics };
}

/** A plain (unsigned) request. */
export function plain(id: string, args?: Record<string, unknown>): string {
  return JSON.stringify({ schema: 1, id, ...(args ? { args } : {}) });
}
