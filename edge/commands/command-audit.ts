import type { EventDraft } from '../events/model.js';
import { isEdgeError, type EdgeErrorCode } from '../errors.js';
import type { CommandReply, CommandRequest } from './schemas.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * The audit record of a state-changing command (`command.executed`): who asked what, with the
 * arguments summarised (a config document or a long list is named, not copied), and the outcome.
 */
export function auditEvent(
  name: string,
  req: CommandRequest,
  reply: CommandReply,
  atMono: number,
): EventDraft {
  const args = req.args ?? {};
  const summary: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (k === 'config') summary.config = '[document]';
    else if (Array.isArray(v)) summary[k] = `[${v.length} items]`;
    else summary[k] = v;
  }
  return eventDraft(
    'command.executed',
    typeof args.parcelId === 'string' ? args.parcelId : null,
    atMono,
    {
      command: name,
      id: req.id,
      ok: reply.ok,
      ...(reply.error ? { error: reply.error.code } : {}),
      args: summary,
    },
  );
}

/** The error part of a reply: an EdgeError keeps its code and details; anything else is FAILED. */
export function errorOf(err: unknown): NonNullable<CommandReply['error']> {
  if (isEdgeError(err)) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  const code: EdgeErrorCode = 'EDGE_COMMAND_FAILED';
  return { code, message: err instanceof Error ? err.message : String(err) };
}
