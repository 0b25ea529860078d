import { FLAG_REASONS } from '../../config/inspector-schema.js';
import { DECISION_ACTIONS, type Decision, type Flag } from './model.js';

/**
 * The shift report: for a period, the queue entries flagged in it counted by reason (an entry
 * with several reasons counts once per reason, and once in `total`), how long they waited for
 * their first officer decision, the decisions taken in it by action and by officer, and one row
 * per entry for the CSV export. Pure: the store supplies flags and decisions.
 */

export interface WaitingStats {
  /** entries of the period that have a decision */
  decided: number;
  medianS: number | null;
  p90S: number | null;
  maxS: number | null;
  /** entries of the period still open, and the longest wait among them so far */
  open: number;
  oldestOpenS: number | null;
}

export interface ShiftReport {
  from: string;
  to: string;
  generatedAt: string;
  flags: { total: number; byReason: Record<string, number> };
  waiting: WaitingStats;
  decisions: {
    total: number;
    byAction: Record<string, number>;
    byOfficer: Record<string, Record<string, number>>;
  };
  rows: ReportRow[];
  /** true when the period held more entries than the report reads */
  truncated: boolean;
}

export interface ReportRow {
  parcelId: string;
  waybill: string | null;
  flaggedAt: string;
  reasons: string;
  ruleId: string | null;
  verdict: string | null;
  confidence: number | null;
  lane: string | null;
  imageId: string | null;
  targetingEntry: string | null;
  targetingNote: string | null;
  status: string;
  decision: string | null;
  officer: string | null;
  decidedAt: string | null;
  waitS: number | null;
  note: string | null;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? null;
}

const round1 = (n: number | null) => (n === null ? null : Math.round(n * 10) / 10);

export function buildShiftReport(input: {
  fromMs: number;
  toMs: number;
  nowMs: number;
  flags: readonly Flag[];
  decisions: readonly Decision[];
  truncated: boolean;
}): ShiftReport {
  const { fromMs, toMs, nowMs, flags, decisions } = input;
  const byReason: Record<string, number> = Object.fromEntries(FLAG_REASONS.map((r) => [r, 0]));
  const waits: number[] = [];
  let open = 0;
  let oldestOpen: number | null = null;
  const rows: ReportRow[] = [];
  for (const f of flags) {
    for (const r of f.reasons) byReason[r] = (byReason[r] ?? 0) + 1;
    const first = f.firstDecisionAt ? Date.parse(f.firstDecisionAt) : null;
    const waitS = first !== null ? (first - f.flaggedAtMs) / 1000 : null;
    if (waitS !== null) waits.push(waitS);
    else if (f.status === 'open') {
      open++;
      const w = (Math.min(nowMs, toMs) - f.flaggedAtMs) / 1000;
      oldestOpen = Math.max(oldestOpen ?? 0, w);
    }
    rows.push({
      parcelId: f.parcelId,
      waybill: f.waybill,
      flaggedAt: f.flaggedAt,
      reasons: f.reasons.join(' '),
      ruleId: f.ruleId,
      verdict: f.verdict,
      confidence: f.confidence,
      lane: f.lane,
      imageId: f.imageId,
      targetingEntry: f.targeting?.entryId ?? null,
      targetingNote: f.targeting?.note ?? null,
      status: f.status,
      decision: f.decision?.action ?? null,
      officer: f.decision?.officer ?? null,
      decidedAt: f.decision?.at ?? null,
      waitS: round1(waitS),
      note: f.decision?.note ?? null,
    });
  }
  waits.sort((a, b) => a - b);
  const byAction: Record<string, number> = Object.fromEntries(DECISION_ACTIONS.map((a) => [a, 0]));
  const byOfficer: Record<string, Record<string, number>> = {};
  for (const d of decisions) {
    byAction[d.action] = (byAction[d.action] ?? 0) + 1;
    const o = (byOfficer[d.officer] ??= {});
    o[d.action] = (o[d.action] ?? 0) + 1;
  }
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    generatedAt: new Date(nowMs).toISOString(),
    flags: { total: flags.length, byReason },
    waiting: {
      decided: waits.length,
      medianS: round1(quantile(waits, 0.5)),
      p90S: round1(quantile(waits, 0.9)),
      maxS: round1(waits.length ? (waits[waits.length - 1] ?? null) : null),
      open,
      oldestOpenS: round1(oldestOpen),
    },
    decisions: { total: decisions.length, byAction, byOfficer },
    rows,
    truncated: input.truncated,
  };
}

const CSV_COLUMNS: readonly (keyof ReportRow)[] = [
  'parcelId',
  'waybill',
  'flaggedAt',
  'reasons',
  'ruleId',
  'verdict',
  'confidence',
  'lane',
  'imageId',
  'targetingEntry',
  'targetingNote',
  'status',
  'decision',
  'officer',
  'decidedAt',
  'waitS',
  'note',
];

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break; a text starting
 * with = + - @ or a tab / carriage return is prefixed with ' so a spreadsheet does not run it
 * as a formula (CSV injection through a waybill or a note).
 */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report's rows as CSV, UTF-8 with a BOM (spreadsheets then read Chinese text right). */
export function shiftReportCsv(report: ShiftReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of report.rows) lines.push(CSV_COLUMNS.map((c) => csvCell(r[c])).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
