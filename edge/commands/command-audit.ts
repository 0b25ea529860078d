import type { EventDraft } from '../events/model.js';
import { isEdgeError, type EdgeErrorCode } from '../errors.js';
import type { CommandRefusal, CommandSigner } from './command-auth.js';
import type { CommandReply, CommandRequest } from './schemas.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * The audit record of a state-changing command (`command.executed`): who signed it (the key's
 * issuer and id, the signed role and the person the platform vouches for; never the sender's own
 * claim), what it asked with the arguments summarised (a config document or a long list is named,
 * not copied), and the outcome. A command refused before it ran is `command.refused`.
 */
export function auditEvent(
  name: string,
  req: CommandRequest,
  reply: CommandReply,
  atMono: number,
  signer: CommandSigner | null = null,
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
      signer: signer ? signerRecord(signer) : null,
      args: summary,
    },
  );
}

/** `command.refused`: the code and reason; the verified signer, or what the sender claimed. */
export function refusalEvent(
  name: string,
  id: string | null,
  err: CommandRefusal,
  at: { atMono: number; bytes: number; retained: boolean; suppressedBefore: number },
): EventDraft {
  const claimed = err.audit.claimed;
  return eventDraft('command.refused', null, at.atMono, {
    command: name.slice(0, 64),
    id,
    code: err.code,
    reason: err.message,
    signer: err.audit.signer ? signerRecord(err.audit.signer) : null,
    ...(claimed && !err.audit.signer
      ? {
          claimedUnverified: {
            keyId: typeof claimed.keyId === 'string' ? claimed.keyId.slice(0, 64) : null,
            issuer: typeof claimed.issuer === 'string' ? claimed.issuer.slice(0, 128) : null,
          },
        }
      : {}),
    bytes: at.bytes,
    ...(at.retained ? { retained: true as const } : {}),
    ...(at.suppressedBefore > 0 ? { notAuditedBefore: at.suppressedBefore } : {}),
  });
}

function signerRecord(s: CommandSigner): CommandSigner {
  return {
    issuer: s.issuer,
    keyId: s.keyId,
    role: s.role,
    actor: s.actor,
    nonce: s.nonce,
    issuedAt: s.issuedAt,
    expiresAt: s.expiresAt,
  };
}

/**
 * At most `perMinute` refusal audit events a minute: a flood of bad commands must not fill the
 * outbox. The refusals beyond are counted and the next audited one says how many were not.
 */
export class RefusalAuditLimit {
  private windowStart = -Infinity;
  private inWindow = 0;
  private suppressed = 0;
  suppressedTotal = 0;

  constructor(private readonly perMinute = 60) {}

  /** null: do not audit this one; else the number not audited since the last audited one. */
  admit(nowMono: number): number | null {
    if (nowMono - this.windowStart >= 60_000) {
      this.windowStart = nowMono;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perMinute) {
      this.suppressed++;
      this.suppressedTotal++;
      return null;
    }
    this.inWindow++;
    const before = this.suppressed;
    this.suppressed = 0;
    return before;
  }
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
