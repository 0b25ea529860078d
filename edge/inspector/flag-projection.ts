import type { EdgeEvent } from '../events/model.js';
import type { CtVerdict, Lane } from '../engine/types.js';
import type {
  Decision,
  DecisionSummary,
  Flag,
  FlagReason,
  ParcelContext,
  TargetingRef,
} from './model.js';

/**
 * From the outbox's event stream to the inspector's queue: pure logic, no I/O. Every committed
 * event that names a parcel updates that parcel's context (waybill, verdict, image, the seqs of
 * its events for the story); a parcel decided to the inspection lane, hit by the targeting list,
 * judged late or escaped (`alarm.escaped`, `alarm.after-divert`) becomes a queue entry (`Flag`).
 * `inspector.decision` events (written by the desk through the outbox) close entries, and the
 * engine's `ct.officer_verdict` answering one is attached to its decision.
 *
 * Lookups of parcels not held in memory go through `ProjectionSource` (the SQLite store).
 */

export interface ProjectionSource {
  context(parcelId: string): ParcelContext | null;
  flag(parcelId: string): Flag | null;
  decision(id: string): Decision | null;
}

/** What one batch of events changed (written in one transaction, then broadcast). */
export interface ProjectionChanges {
  contexts: Map<string, ParcelContext>;
  flags: Map<string, Flag>;
  decisions: Map<string, Decision>;
  /** entries that raised an alert in this batch */
  alerts: Flag[];
  lastSeq: number;
}

export const EVENT_DECISION = 'inspector.decision';
export const EVENT_ACK = 'inspector.alert_acknowledged';
export const ESCAPED_TYPES: readonly string[] = ['alarm.escaped', 'alarm.after-divert'];

const RULE_REASON: Readonly<Record<string, FlagReason>> = {
  'ct-suspect': 'ct-suspect',
  'ct-unknown': 'ct-unknown',
  targeting: 'targeting',
  'ct-verdict-timeout': 'verdict-missing',
  'device-lost': 'device-lost',
  tracking: 'tracking',
  'fail-safe-guard': 'fail-safe',
  'no-read': 'no-read',
};

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const verdictOf = (v: unknown): CtVerdict | null =>
  v === 'clear' || v === 'suspect' || v === 'unknown' ? v : null;
const laneOf = (v: unknown): Lane | null =>
  v === 'inspection' || v === 'exception' || v === 'pass' ? v : null;

function targetingOf(v: unknown): TargetingRef | null {
  if (!v || typeof v !== 'object') return null;
  const t = v as Record<string, unknown>;
  const entryId = str(t.entryId);
  if (!entryId) return null;
  return {
    listVersion: str(t.listVersion) ?? '',
    entryId,
    match: str(t.match) ?? '',
    pattern: str(t.pattern) ?? '',
    note: str(t.reason) ?? str(t.note),
  };
}

/** The parcel an event is about: the envelope's, or the one an officer verdict / audit names. */
export function parcelOf(e: EdgeEvent): string | null {
  if (e.parcelId) return e.parcelId;
  if (e.type === 'ct.officer_verdict') return str(e.payload.requestedParcelId);
  if (e.type === 'audit' || e.type.startsWith('inspector.')) return str(e.payload.parcelId);
  return null;
}

export function newChanges(): ProjectionChanges {
  return { contexts: new Map(), flags: new Map(), decisions: new Map(), alerts: [], lastSeq: 0 };
}

export class FlagProjection {
  /** open entries, always in memory (the live queue) */
  readonly open = new Map<string, Flag>();
  private readonly recentFlags = new Map<string, Flag>();
  private readonly contexts = new Map<string, ParcelContext>();
  private readonly decisions = new Map<string, Decision>();

  constructor(
    private readonly source: ProjectionSource,
    private readonly alertReasons: ReadonlySet<FlagReason>,
    private readonly cacheSize = 5000,
  ) {}

  /** Load the open entries at start. */
  seed(open: readonly Flag[]): void {
    for (const f of open) this.open.set(f.parcelId, f);
  }

  apply(events: readonly EdgeEvent[], ch: ProjectionChanges = newChanges()): ProjectionChanges {
    for (const e of events) {
      if (e.stream === 'telemetry') continue;
      ch.lastSeq = Math.max(ch.lastSeq, e.seq);
      const pid = parcelOf(e);
      if (!pid) continue;
      this.applyOne(e, pid, ch);
    }
    return ch;
  }

  flag(parcelId: string): Flag | null {
    return this.open.get(parcelId) ?? this.recentFlags.get(parcelId) ?? this.loadFlag(parcelId);
  }

  context(parcelId: string): ParcelContext | null {
    const hit = this.contexts.get(parcelId);
    if (hit) return hit;
    const loaded = this.source.context(parcelId);
    if (loaded) remember(this.contexts, parcelId, loaded, this.cacheSize);
    return loaded;
  }

  decision(id: string): Decision | null {
    const hit = this.decisions.get(id);
    if (hit) return hit;
    const loaded = this.source.decision(id);
    if (loaded) remember(this.decisions, id, loaded, 1000);
    return loaded;
  }

  private loadFlag(parcelId: string): Flag | null {
    const loaded = this.source.flag(parcelId);
    if (loaded) this.keepFlag(loaded);
    return loaded;
  }

  private keepFlag(f: Flag): void {
    if (f.status === 'open') {
      this.open.set(f.parcelId, f);
      this.recentFlags.delete(f.parcelId);
    } else {
      this.open.delete(f.parcelId);
      remember(this.recentFlags, f.parcelId, f, 1000);
    }
  }

  private applyOne(e: EdgeEvent, pid: string, ch: ProjectionChanges): void {
    const p = e.payload;
    let ctx = this.context(pid);
    if (!ctx) {
      ctx = {
        parcelId: pid,
        waybill: null,
        inductedMs: null,
        verdict: null,
        confidence: null,
        scanId: null,
        imageId: null,
        targeting: null,
        seqs: [],
      };
      remember(this.contexts, pid, ctx, this.cacheSize);
    }
    if (!ctx.seqs.includes(e.seq)) ctx.seqs.push(e.seq);
    ch.contexts.set(pid, ctx);
    const touch = (f: Flag): Flag => {
      f.lastSeq = Math.max(f.lastSeq, e.seq);
      this.keepFlag(f);
      ch.flags.set(pid, f);
      return f;
    };
    const existing = (): Flag | null => {
      const f = this.flag(pid);
      return f ? touch(f) : null;
    };
    const raise = (f: Flag, reasons: readonly FlagReason[]): void => {
      for (const r of reasons) if (!f.reasons.includes(r)) f.reasons.push(r);
      if (!f.alert && f.status === 'open' && f.reasons.some((r) => this.alertReasons.has(r))) {
        f.alert = true;
        ch.alerts.push(f);
      }
    };

    switch (e.type) {
      case 'parcel.inducted':
        ctx.inductedMs = Date.parse(e.time);
        break;
      case 'parcel.identified':
        ctx.waybill = str(p.code) ?? ctx.waybill;
        break;
      case 'ct.verdict':
      case 'ct.verdict_revised': {
        if (e.type === 'ct.verdict_revised' && p.applied !== true) break;
        const verdict = verdictOf(p.verdict);
        ctx.verdict = verdict ?? ctx.verdict;
        ctx.confidence = num(p.confidence) ?? ctx.confidence;
        ctx.scanId = str(p.scanId) ?? ctx.scanId;
        ctx.imageId = str(p.imageId) ?? ctx.imageId;
        const f = existing();
        if (!f) break;
        this.fillFromContext(f, ctx);
        f.verdict = verdict ?? f.verdict;
        const late = e.type === 'ct.verdict' && p.afterDecision === true;
        if (late) f.verdictLate = true;
        raise(f, [
          ...(late ? (['verdict-late'] as const) : []),
          ...(verdict === 'suspect' ? (['ct-suspect'] as const) : []),
          ...(verdict === 'unknown' ? (['ct-unknown'] as const) : []),
        ]);
        break;
      }
      case 'targeting.hit': {
        ctx.targeting = targetingOf(p) ?? ctx.targeting;
        const f = existing();
        if (f) {
          f.targeting = ctx.targeting;
          raise(f, ['targeting']);
        }
        break;
      }
      case 'parcel.decided': {
        ctx.waybill = ctx.waybill ?? str(p.code);
        ctx.verdict = ctx.verdict ?? verdictOf(p.verdict);
        ctx.scanId = ctx.scanId ?? str(p.scanId);
        ctx.imageId = ctx.imageId ?? str(p.imageId);
        ctx.targeting = ctx.targeting ?? targetingOf(p.targeting);
        const lane = laneOf(p.lane);
        const f =
          lane === 'inspection' ? touch(this.flag(pid) ?? this.newFlag(e, pid)) : existing();
        if (!f) break;
        f.lane = lane ?? f.lane;
        f.outlet = str(p.outlet) ?? f.outlet;
        f.ruleId = str(p.ruleId) ?? f.ruleId;
        f.ruleReason = str(p.reason) ?? f.ruleReason;
        const gateId = str(p.gateId);
        f.gate = gateId ? { gateId, fired: false, failed: null, confirmed: null } : f.gate;
        this.fillFromContext(f, ctx);
        if (lane === 'inspection') raise(f, this.reasonsOf(f, str(p.ruleId)));
        break;
      }
      case 'gate.fired':
      case 'gate.failed':
      case 'divert.confirmed':
      case 'alarm.divert-unconfirmed':
      case 'alarm.missort': {
        const f = existing();
        if (!f) break;
        const g = f.gate ?? { gateId: str(p.gateId), fired: false, failed: null, confirmed: null };
        if (e.type === 'gate.fired') g.fired = true;
        if (e.type === 'gate.failed') g.failed = str(p.error) ?? 'failed';
        if (e.type === 'divert.confirmed') g.confirmed = true;
        if (e.type !== 'gate.fired' && e.type !== 'gate.failed' && e.type !== 'divert.confirmed')
          g.confirmed = false;
        f.gate = g;
        break;
      }
      case 'ct.officer_verdict': {
        const decisionId = str(p.reportId);
        const d = decisionId ? this.decision(decisionId) : null;
        if (d && d.parcelId === pid) {
          d.engine = {
            applied: p.applied === true,
            reason: str(p.reason) ?? '',
            decidedLane: str(p.decidedLane),
            seq: e.seq,
          };
          ch.decisions.set(d.id, d);
          break;
        }
        const f = existing();
        if (f)
          f.remoteVerdict = {
            officerId: str(p.officerId) ?? '?',
            verdict: str(p.verdict) ?? '?',
            applied: p.applied === true,
          };
        break;
      }
      case EVENT_DECISION: {
        const d: Decision = { ...(p as unknown as Decision), seq: e.seq, engine: null };
        remember(this.decisions, d.id, d, 1000);
        ch.decisions.set(d.id, d);
        const f = touch(this.flag(pid) ?? this.newFlag(e, pid));
        this.fillFromContext(f, ctx);
        const summary: DecisionSummary = {
          id: d.id,
          action: d.action,
          officer: d.officer,
          at: d.at,
          note: d.note,
        };
        f.status = 'decided';
        f.decision = summary;
        f.firstDecisionAt = f.firstDecisionAt ?? d.at;
        if (f.reasons.length === 0) f.reasons.push('other');
        this.keepFlag(f);
        break;
      }
      case EVENT_ACK: {
        const f = existing();
        if (f) {
          f.ackedBy = str(p.officer);
          f.ackedAt = e.time;
        }
        break;
      }
      default:
        if (ESCAPED_TYPES.includes(e.type)) {
          const f = touch(this.flag(pid) ?? this.newFlag(e, pid));
          f.lane = laneOf(p.lane) ?? f.lane;
          f.ruleReason = str(p.reason) ?? f.ruleReason;
          this.fillFromContext(f, ctx);
          raise(f, ['escaped']);
        }
        break;
    }
  }

  private reasonsOf(f: Flag, ruleId: string | null): FlagReason[] {
    const out: FlagReason[] = [ruleId ? (RULE_REASON[ruleId] ?? 'other') : 'other'];
    if (f.verdict === 'suspect') out.push('ct-suspect');
    if (f.verdict === 'unknown') out.push('ct-unknown');
    if (f.targeting) out.push('targeting');
    return out;
  }

  private fillFromContext(f: Flag, ctx: ParcelContext): void {
    f.waybill = f.waybill ?? ctx.waybill;
    f.verdict = f.verdict ?? ctx.verdict;
    f.confidence = f.confidence ?? ctx.confidence;
    f.scanId = f.scanId ?? ctx.scanId;
    f.imageId = f.imageId ?? ctx.imageId;
    f.targeting = f.targeting ?? ctx.targeting;
    f.inductedAt =
      f.inductedAt ?? (ctx.inductedMs !== null ? new Date(ctx.inductedMs).toISOString() : null);
  }

  private newFlag(e: EdgeEvent, pid: string): Flag {
    return {
      parcelId: pid,
      waybill: null,
      lane: null,
      outlet: null,
      reasons: [],
      ruleId: null,
      ruleReason: null,
      verdict: null,
      verdictLate: false,
      confidence: null,
      scanId: null,
      imageId: null,
      targeting: null,
      inductedAt: null,
      flaggedAt: e.time,
      flaggedAtMs: Date.parse(e.time),
      flaggedSeq: e.seq,
      lastSeq: e.seq,
      gate: null,
      alert: false,
      ackedBy: null,
      ackedAt: null,
      status: 'open',
      decision: null,
      firstDecisionAt: null,
      remoteVerdict: null,
    };
  }
}

/** A bounded map: the oldest entry goes when it is full (insertion order, refreshed on use). */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}
