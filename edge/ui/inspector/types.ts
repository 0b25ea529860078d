/**
 * What the inspector API answers (edge/http/routes/inspector-routes.ts, edge/inspector/model.ts),
 * as the pages see it, and small helpers shared by the inspector pages.
 */

export type DecisionAction = 'release' | 'inspect' | 'seize' | 'rescan';
export const ACTIONS: readonly DecisionAction[] = ['release', 'inspect', 'seize', 'rescan'];

export interface DecisionSummary {
  id: string;
  action: DecisionAction;
  officer: string;
  at: string;
  note: string;
}

export interface FlagView {
  parcelId: string;
  waybill: string | null;
  lane: string | null;
  outlet: string | null;
  reasons: string[];
  ruleId: string | null;
  ruleReason: string | null;
  verdict: string | null;
  verdictLate: boolean;
  confidence: number | null;
  scanId: string | null;
  imageId: string | null;
  imageUrl: string | null;
  targeting: {
    listVersion: string;
    entryId: string;
    match: string;
    pattern: string;
    note: string | null;
  } | null;
  inductedAt: string | null;
  flaggedAt: string;
  flaggedAtMs: number;
  gate: {
    gateId: string | null;
    fired: boolean;
    failed: string | null;
    confirmed: boolean | null;
  } | null;
  alert: boolean;
  ackedBy: string | null;
  ackedAt: string | null;
  status: 'open' | 'decided';
  decision: DecisionSummary | null;
  firstDecisionAt: string | null;
  remoteVerdict: { officerId: string; verdict: string; applied: boolean } | null;
  openedBy: { officer: string; since: string } | null;
  waitingMs: number;
}

export interface QueueSnapshot {
  now: string;
  open: FlagView[];
  /** open entries in all (the snapshot lists at most the newest 1000) */
  openTotal: number;
  decided: FlagView[];
}

export interface InspectorSettings {
  officer: string | null;
  role: string | null;
  canDecide: boolean;
  claimTtlS: number;
  alertReasons: string[];
  imageLinks: boolean;
}

export interface Decision extends DecisionSummary {
  parcelId: string;
  waybill: string | null;
  verdict: string;
  tookOverFrom: string | null;
  engine: { applied: boolean; reason: string; decidedLane: string | null } | null;
}

export interface DecideAnswer {
  decision: Decision;
  engine: { applied: boolean; reason: string; decidedLane: string | null };
}

/** Only http(s) links are rendered (the server builds them from an http(s) template). */
export function safeLink(url: string | null): string | null {
  return url && /^https?:\/\//i.test(url) ? url : null;
}

/** 75 s -> "1:15", 3725 s -> "1:02:05". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

export function localTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '';
}
