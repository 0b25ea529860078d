import type { IdKind, Lane, ParcelIds } from './types.js';

/**
 * Correlation by identifier. A tracked parcel collects every identifier it is given (the
 * scanner's waybill, the CT's item id, the PLC's tracking id, the image id, the gateway's
 * induction count) as aliases, one value per kind. A verdict names its parcel by the identifiers
 * it carries; compared kind by kind, each one either matches the parcel's alias, contradicts it
 * (same kind, another value), or says nothing (the parcel has no alias of that kind).
 *
 * A waybill, a PLC tracking id and an induction count are known to the line before any verdict
 * arrives, so a verdict naming one that no parcel carries matches nothing. A CT item id or an
 * image id is first learned from the CT itself: one no parcel has been given yet does not
 * identify a parcel (the verdict is then placed by its other identifiers or by its scan time) and
 * is learned when the verdict is placed.
 */

export const ID_KINDS: readonly IdKind[] = [
  'waybill',
  'ctItem',
  'plcTracking',
  'image',
  'induction',
];
/** kinds learned from the CT's own verdicts (see above) */
const LEARNED_FROM_CT: ReadonlySet<IdKind> = new Set(['ctItem', 'image']);

/** Trimmed, upper-case; numeric PLC tracking ids and induction counts without leading zeros. */
export function normId(kind: IdKind, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint')
    return null;
  let v = String(value).trim().toUpperCase();
  if (v.length === 0) return null;
  if ((kind === 'plcTracking' || kind === 'induction') && /^\d+$/.test(v))
    v = v.replace(/^0+(?=\d)/, '');
  return v;
}

/** The identifiers of an input, normalised, empty ones dropped. */
export function cleanIds(ids: ParcelIds | undefined | null): ParcelIds {
  const out: ParcelIds = {};
  if (!ids) return out;
  for (const kind of ID_KINDS) {
    const v = normId(kind, ids[kind]);
    if (v !== null) out[kind] = v;
  }
  return out;
}

export function hasIds(ids: ParcelIds): boolean {
  return ID_KINDS.some((k) => ids[k] !== undefined);
}

export interface IdComparison {
  matched: IdKind[];
  contradicted: IdKind[];
}

/** How the identifiers a verdict claims compare with what a parcel is known by. */
export function compareIds(known: ParcelIds, claimed: ParcelIds): IdComparison {
  const matched: IdKind[] = [];
  const contradicted: IdKind[] = [];
  for (const kind of ID_KINDS) {
    const c = claimed[kind];
    const k = known[kind];
    if (c === undefined || k === undefined) continue;
    if (c === k) matched.push(kind);
    else contradicted.push(kind);
  }
  return { matched, contradicted };
}

/** Add the identifiers the parcel did not have yet; returns the kinds learned. */
export function learnIds(known: ParcelIds, ids: ParcelIds): IdKind[] {
  const learned: IdKind[] = [];
  for (const kind of ID_KINDS) {
    const v = ids[kind];
    if (v !== undefined && known[kind] === undefined) {
      known[kind] = v;
      learned.push(kind);
    }
  }
  return learned;
}

/**
 * The identifiers of a verdict that can name a parcel: every kind but a CT item id or image id
 * that no parcel (tracked or recently departed) has been given yet.
 */
export function identifyingIds(
  ids: ParcelIds,
  knownAnywhere: (kind: IdKind, value: string) => boolean,
): ParcelIds {
  const out: ParcelIds = {};
  for (const kind of ID_KINDS) {
    const v = ids[kind];
    if (v === undefined) continue;
    if (LEARNED_FROM_CT.has(kind) && !knownAnywhere(kind, v)) continue;
    out[kind] = v;
  }
  return out;
}

/** What the engine remembers of a parcel that left the line (for verdicts that come too late). */
export interface DepartedParcel {
  id: string;
  ids: ParcelIds;
  code: string | null;
  lane: Lane | null;
  outlet: string | null;
  leftAtMono: number;
}

/** The last parcels that left the line, newest last, bounded. */
export class DepartedParcels {
  private readonly list: DepartedParcel[] = [];

  constructor(private readonly capacity = 512) {}

  add(p: DepartedParcel): void {
    this.list.push(p);
    if (this.list.length > this.capacity) this.list.splice(0, this.list.length - this.capacity);
  }

  /** Departed parcels matching on at least one identifier and contradicting on none. */
  find(ids: ParcelIds): DepartedParcel[] {
    return this.list.filter((p) => {
      const c = compareIds(p.ids, ids);
      return c.matched.length > 0 && c.contradicted.length === 0;
    });
  }

  knows(kind: IdKind, value: string): boolean {
    return this.list.some((p) => p.ids[kind] === value);
  }
}
