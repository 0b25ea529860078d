import type { EdgeEvent } from '../events/model.js';
import { storedToEvent, type InspectorDesk } from './desk.js';
import { parcelOf } from './flag-projection.js';
import type { Decision, FlagView, ParcelContext } from './model.js';

/**
 * A parcel's whole story from the outbox's stored events: induction, reads, weight, CT verdicts,
 * targeting hits, the line's decision, gate fire and divert confirmation, alarms, officer
 * verdicts and decisions, audits. The desk's parcel index knows the seqs of a parcel's events;
 * they are read back from the outbox in runs of nearby seqs. Events the outbox no longer holds
 * (retention, quota) are counted as `missing`; the officer decisions are also kept in the
 * inspector's own store, so they are shown even then.
 */

export type StoryStage =
  | 'induction'
  | 'read'
  | 'weight'
  | 'verdict'
  | 'targeting'
  | 'decision'
  | 'gate'
  | 'alarm'
  | 'officer'
  | 'audit'
  | 'other';

export interface StoryEvent {
  seq: number;
  time: string;
  type: string;
  stage: StoryStage;
  payload: Record<string, unknown>;
}

export interface ParcelStory {
  parcelId: string;
  waybill: string | null;
  inductedAt: string | null;
  flag: FlagView | null;
  decisions: Decision[];
  events: StoryEvent[];
  /** events of this parcel the outbox no longer holds */
  missing: number;
}

export interface SearchHit {
  parcelId: string;
  waybill: string | null;
  inductedAt: string | null;
  flagged: boolean;
  status: 'open' | 'decided' | null;
  decision: string | null;
}

/** seqs closer than this are read with one range query and filtered */
const RUN_GAP = 64;

export function stageOf(type: string): StoryStage {
  if (type === 'parcel.inducted') return 'induction';
  if (type === 'parcel.identified' || type === 'parcel.noread' || type.startsWith('read.'))
    return 'read';
  if (type.startsWith('parcel.weigh') || type.startsWith('weight.')) return 'weight';
  if (type === 'ct.officer_verdict' || type.startsWith('inspector.')) return 'officer';
  if (type.startsWith('ct.')) return 'verdict';
  if (type.startsWith('targeting.')) return 'targeting';
  if (type === 'parcel.decided') return 'decision';
  if (type.startsWith('gate.') || type.startsWith('divert.')) return 'gate';
  if (type.startsWith('alarm.')) return 'alarm';
  if (type === 'audit') return 'audit';
  return 'other';
}

/** Group sorted seqs into [from, to] runs whose inner gaps are below RUN_GAP. */
export function seqRuns(seqs: readonly number[]): [number, number][] {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const s of sorted) {
    const last = runs[runs.length - 1];
    if (last && s - last[1] <= RUN_GAP) last[1] = s;
    else runs.push([s, s]);
  }
  return runs;
}

export function parcelStory(desk: InspectorDesk, parcelId: string): ParcelStory | null {
  const ctx: ParcelContext | null = desk.projection.context(parcelId);
  const flag = desk.flag(parcelId);
  const decisions = desk.store.decisionsOf(parcelId);
  if (!ctx && !flag && decisions.length === 0) return null;
  const wanted = new Set<number>([...(ctx?.seqs ?? []), ...decisions.map((d) => d.seq)]);
  const found: EdgeEvent[] = [];
  for (const [from, to] of seqRuns([...wanted])) {
    for (const row of desk.o.events.range('events', from, to, to - from + 1)) {
      if (!wanted.has(row.seq)) continue;
      const e = storedToEvent(row);
      if (parcelOf(e) === parcelId) found.push(e);
    }
  }
  const inductedMs = ctx?.inductedMs ?? null;
  return {
    parcelId,
    waybill: ctx?.waybill ?? flag?.waybill ?? decisions[0]?.waybill ?? null,
    inductedAt:
      inductedMs !== null ? new Date(inductedMs).toISOString() : (flag?.inductedAt ?? null),
    flag: flag ? desk.view(flag) : null,
    decisions,
    events: found.map((e) => ({
      seq: e.seq,
      time: e.time,
      type: e.type,
      stage: stageOf(e.type),
      payload: e.payload,
    })),
    missing: Math.max(0, wanted.size - found.length),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parcels by parcel id (exact) or waybill (exact, case-insensitive), newest first. */
export function searchParcels(desk: InspectorDesk, query: string, limit = 50): SearchHit[] {
  const q = query.trim();
  if (q.length === 0) return [];
  const hits = new Map<string, SearchHit>();
  const add = (parcelId: string): void => {
    if (hits.has(parcelId)) return;
    const ctx = desk.projection.context(parcelId);
    const flag = desk.flag(parcelId);
    if (!ctx && !flag) return;
    const inducted = ctx?.inductedMs ?? null;
    hits.set(parcelId, {
      parcelId,
      waybill: ctx?.waybill ?? flag?.waybill ?? null,
      inductedAt: inducted !== null ? new Date(inducted).toISOString() : (flag?.inductedAt ?? null),
      flagged: flag !== null,
      status: flag?.status ?? null,
      decision: flag?.decision?.action ?? null,
    });
  };
  if (UUID.test(q)) add(q.toLowerCase());
  for (const c of desk.store.parcelsByWaybill(q, limit)) add(c.parcelId);
  for (const f of desk.store.flagsByWaybill(q, limit)) add(f.parcelId);
  return [...hits.values()]
    .sort((a, b) => (b.inductedAt ?? '').localeCompare(a.inductedAt ?? ''))
    .slice(0, limit);
}
