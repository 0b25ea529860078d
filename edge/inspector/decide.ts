import { EdgeError } from '../errors.js';
import type { EventDraft } from '../events/model.js';
import { UuidV7Generator } from '../events/uuidv7.js';
import type { InspectorDesk } from './desk.js';
import { EVENT_DECISION } from './flag-projection.js';
import { ENGINE_VERDICT, type Decision, type DecisionAction, type Flag } from './model.js';

/**
 * Recording an officer's decision (release / inspect / seize / rescan):
 *
 * 1. checks, changing nothing when one fails: the parcel is known (404), no other officer has it
 *    open unless the request takes it over (409), it has no decision yet unless the request
 *    revises it (409), no other decision for it is being recorded (409);
 * 2. the `inspector.decision` event and its `audit` event (who, when, what, before, after) are
 *    appended to the outbox in one transaction and the call waits for the commit: the decision
 *    is stored and on its way to the platform before the HTTP answer. The desk's projection has
 *    applied it to the queue by then (synchronously, on the commit);
 * 3. the verdict goes to the line engine through its officer-verdict input (an officer suspect
 *    always wins; a release stands in for a missing machine verdict and never clears a machine
 *    suspect at the edge; a parcel already off the line is recorded as such). Its
 *    `ct.officer_verdict` event carries the decision id as reportId.
 *
 * When the outbox cannot commit, the decision is not recorded (EDGE_INSPECTOR_NOT_RECORDED), but a
 * stricter verdict (inspect, seize, rescan) still goes to the engine: fail safe.
 */

export interface DecideRequest {
  parcelId: string;
  action: DecisionAction;
  note: string;
  officer: string;
  takeOver: boolean;
  revise: boolean;
}

export interface EngineAnswer {
  applied: boolean;
  reason: string;
  decidedLane: string | null;
}

export interface DecideResult {
  decision: Decision;
  engine: EngineAnswer;
  event: { id: string; seq: number };
}

const ids = new WeakMap<InspectorDesk, UuidV7Generator>();

function snapshot(f: Flag | null): Record<string, unknown> {
  if (!f) return { status: 'not-flagged' };
  return {
    status: f.status,
    reasons: f.reasons,
    lane: f.lane,
    verdict: f.verdict,
    decision: f.decision
      ? { id: f.decision.id, action: f.decision.action, officer: f.decision.officer }
      : null,
  };
}

export async function decide(desk: InspectorDesk, req: DecideRequest): Promise<DecideResult> {
  const { clock, log } = desk.o;
  const pid = req.parcelId;
  if (!desk.knows(pid))
    throw new EdgeError('EDGE_INSPECTOR_UNKNOWN_PARCEL', `parcel ${pid} is not known here`);
  const holder = desk.claims.holder(pid);
  if (holder && holder.officer !== req.officer && !req.takeOver)
    throw new EdgeError('EDGE_INSPECTOR_CLAIMED', `${holder.officer} has this parcel open`, {
      details: { openedBy: holder.officer, since: new Date(holder.sinceMs).toISOString() },
    });
  const flag = desk.flag(pid);
  if (flag?.status === 'decided' && flag.decision && !req.revise)
    throw new EdgeError(
      'EDGE_INSPECTOR_DECIDED',
      `already decided (${flag.decision.action} by ${flag.decision.officer})`,
      { details: { decision: flag.decision } },
    );
  if (desk.deciding.has(pid))
    throw new EdgeError(
      'EDGE_INSPECTOR_CLAIMED',
      'another decision for this parcel is being recorded',
    );

  desk.deciding.add(pid);
  try {
    let gen = ids.get(desk);
    if (!gen) ids.set(desk, (gen = new UuidV7Generator(clock.wallMs)));
    const atMs = clock.wallMs();
    const verdict = ENGINE_VERDICT[req.action];
    const ctx = desk.projection.context(pid);
    const tookOverFrom = holder && holder.officer !== req.officer ? holder.officer : null;
    const before = snapshot(flag);
    const after = { status: 'decided', action: req.action, verdict, officer: req.officer };
    const decision: Decision = {
      id: gen.next(),
      parcelId: pid,
      waybill: flag?.waybill ?? ctx?.waybill ?? null,
      action: req.action,
      verdict,
      note: req.note,
      officer: req.officer,
      at: new Date(atMs).toISOString(),
      atMs,
      before,
      after,
      tookOverFrom,
      seq: 0,
      engine: null,
    };
    const atMono = clock.monoMs();
    const drafts: EventDraft[] = [
      { type: EVENT_DECISION, parcelId: pid, atMono, payload: decisionPayload(decision) },
      {
        type: 'audit',
        parcelId: pid,
        atMono,
        payload: {
          action: 'inspector.decision',
          actor: req.officer,
          parcelId: pid,
          decisionId: decision.id,
          what: req.action,
          note: req.note,
          before,
          after,
          ...(tookOverFrom ? { tookOverFrom } : {}),
        },
      },
    ];
    let stored;
    try {
      stored = await desk.o.events.append(drafts);
    } catch (err) {
      log.error({ err, parcelId: pid, action: req.action }, 'officer decision not recorded');
      const engine =
        verdict === 'clear' ? null : toEngine(desk, pid, verdict, req.officer, decision.id);
      throw new EdgeError(
        'EDGE_INSPECTOR_NOT_RECORDED',
        `decision not recorded: ${(err as Error).message}`,
        { cause: err, details: { engine } },
      );
    }
    log.info(
      {
        audit: {
          action: 'inspector.decision',
          actor: req.officer,
          parcelId: pid,
          what: req.action,
        },
      },
      'audit',
    );
    desk.claims.drop(pid);
    const engine = toEngine(desk, pid, verdict, req.officer, decision.id);
    desk.announce(pid);
    const event = stored[0]!;
    return {
      decision: desk.projection.decision(decision.id) ?? { ...decision, seq: event.seq },
      engine,
      event: { id: event.id, seq: event.seq },
    };
  } finally {
    desk.deciding.delete(pid);
  }
}

/** The event payload: the decision without what only the store knows (its seq, the engine's answer). */
function decisionPayload(d: Decision): Record<string, unknown> {
  const { seq: _seq, engine: _engine, ...rest } = d;
  return rest;
}

function toEngine(
  desk: InspectorDesk,
  parcelId: string,
  verdict: 'clear' | 'suspect' | 'unknown',
  officer: string,
  decisionId: string,
): EngineAnswer {
  const engine = desk.o.engine();
  if (!engine) return { applied: false, reason: 'line engine not running', decidedLane: null };
  try {
    const r = engine.officerVerdict({
      parcelId,
      waybill: null,
      verdict,
      officerId: officer,
      reportId: decisionId,
      source: 'workstation',
    });
    return {
      applied: r.applied === true,
      reason: typeof r.reason === 'string' ? r.reason : '',
      decidedLane: typeof r.decidedLane === 'string' ? r.decidedLane : null,
    };
  } catch (err) {
    desk.o.log.error({ err, parcelId }, 'officer verdict not applied to the engine');
    return {
      applied: false,
      reason: `engine refused: ${(err as Error).message}`,
      decidedLane: null,
    };
  }
}
