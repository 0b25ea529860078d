import type { FlagReason } from '../../config/inspector-schema.js';
import type { CtVerdict, Lane } from '../engine/types.js';

/**
 * The inspector workstation's records (docs/inspector.md). A `Flag` is a parcel an officer must
 * act on (a queue entry); a `Decision` is what an officer decided for it. Both are projections
 * of the outbox's event stream (edge/inspector/flag-projection.ts), kept in their own SQLite
 * file so they outlive the outbox's retention.
 */

export type { FlagReason };

/** What an officer can decide, and the verdict it sends to the line engine. */
export const DECISION_ACTIONS = ['release', 'inspect', 'seize', 'rescan'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/**
 * release: the officer clears it (stands in for a missing machine verdict, never clears a
 * machine suspect at the edge); inspect and seize: officer suspect (always wins); rescan: the
 * verdict is unknown until the parcel is scanned again (inspection lane).
 */
export const ENGINE_VERDICT: Record<DecisionAction, CtVerdict> = {
  release: 'clear',
  inspect: 'suspect',
  seize: 'suspect',
  rescan: 'unknown',
};

export interface TargetingRef {
  listVersion: string;
  entryId: string;
  match: string;
  pattern: string;
  /** the targeting entry's note (its `reason`) */
  note: string | null;
}

/** The engine's answer to an officer verdict (the `ct.officer_verdict` event). */
export interface EngineOutcome {
  applied: boolean;
  reason: string;
  decidedLane: string | null;
  seq: number;
}

export interface DecisionSummary {
  id: string;
  action: DecisionAction;
  officer: string;
  at: string;
  note: string;
}

export interface Decision extends DecisionSummary {
  parcelId: string;
  waybill: string | null;
  atMs: number;
  /** the verdict sent to the line engine */
  verdict: CtVerdict;
  /** the queue entry before and after (the audit's before / after) */
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  /** the officer who had the parcel open before this one took it over */
  tookOverFrom: string | null;
  /** seq of the `inspector.decision` event */
  seq: number;
  /** what the engine made of it; null until its `ct.officer_verdict` event is stored */
  engine: EngineOutcome | null;
}

export interface GateState {
  gateId: string | null;
  fired: boolean;
  failed: string | null;
  confirmed: boolean | null;
}

export interface Flag {
  parcelId: string;
  waybill: string | null;
  lane: Lane | null;
  outlet: string | null;
  /** every reason seen, in the order they appeared */
  reasons: FlagReason[];
  ruleId: string | null;
  /** the engine's reason text for the decision */
  ruleReason: string | null;
  verdict: CtVerdict | null;
  /** the machine verdict arrived after the decision (late) */
  verdictLate: boolean;
  confidence: number | null;
  scanId: string | null;
  imageId: string | null;
  targeting: TargetingRef | null;
  inductedAt: string | null;
  flaggedAt: string;
  flaggedAtMs: number;
  flaggedSeq: number;
  lastSeq: number;
  gate: GateState | null;
  /** an alert was raised for this entry (config inspector.alertReasons) */
  alert: boolean;
  ackedBy: string | null;
  ackedAt: string | null;
  status: 'open' | 'decided';
  /** the latest officer decision */
  decision: DecisionSummary | null;
  /** when the first officer decision was taken (the entry's waiting time ends there) */
  firstDecisionAt: string | null;
  /** a remote officer's verdict through the platform's ct-decision command */
  remoteVerdict: { officerId: string; verdict: string; applied: boolean } | null;
}

/** A flag as the API shows it: with the image link, who has it open and how long it waited. */
export interface FlagView extends Flag {
  imageUrl: string | null;
  openedBy: { officer: string; since: string } | null;
  waitingMs: number;
}

/** What the projection knows of any recent parcel (flagged or not), for search and context. */
export interface ParcelContext {
  parcelId: string;
  waybill: string | null;
  inductedMs: number | null;
  verdict: CtVerdict | null;
  confidence: number | null;
  scanId: string | null;
  imageId: string | null;
  targeting: TargetingRef | null;
  /** seqs of the stored events that name this parcel (story) */
  seqs: number[];
}
