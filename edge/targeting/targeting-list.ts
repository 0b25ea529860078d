import type { TargetingHit, TargetingLookup } from '../engine/types.js';
import type { Slices } from './slices.js';

/**
 * A targeting (布控) list in memory: one immutable version, exact and prefix entries. Lookups
 * are O(number of distinct prefix lengths); the engine holds one reference and a replacement is
 * a single reference swap, so a decision never sees half of two lists.
 */
export interface TargetingEntry {
  id: string;
  match: 'exact' | 'prefix';
  pattern: string;
  reason?: string | null;
}

export function normalizeCode(code: string): string {
  return code.trim().toUpperCase();
}

interface ListIndex {
  exact: Map<string, TargetingEntry>;
  prefixes: Map<string, TargetingEntry>;
}

function indexEntry(index: ListIndex, e: TargetingEntry): void {
  const key = normalizeCode(e.pattern);
  if (e.match === 'exact') index.exact.set(key, e);
  else index.prefixes.set(key, e);
}

export class TargetingList implements TargetingLookup {
  private readonly exact: Map<string, TargetingEntry>;
  private readonly prefixes: Map<string, TargetingEntry>;
  private readonly prefixLengths: number[];

  constructor(
    readonly version: string,
    readonly entries: readonly TargetingEntry[],
    index?: ListIndex,
  ) {
    let built = index;
    if (!built) {
      built = { exact: new Map(), prefixes: new Map() };
      for (const e of entries) indexEntry(built, e);
    }
    this.exact = built.exact;
    this.prefixes = built.prefixes;
    this.prefixLengths = [...new Set([...this.prefixes.keys()].map((k) => k.length))].sort(
      (a, b) => b - a,
    );
  }

  /** The same list, indexed in slices (a large list does not stall the event loop). */
  static async build(
    version: string,
    entries: readonly TargetingEntry[],
    slices: Slices,
  ): Promise<TargetingList> {
    const index: ListIndex = { exact: new Map(), prefixes: new Map() };
    await slices.forEach(entries, (e) => indexEntry(index, e));
    return new TargetingList(version, entries, index);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Exact match first, then the longest matching prefix. */
  match(code: string): TargetingHit | null {
    const key = normalizeCode(code);
    const e = this.exact.get(key);
    if (e) return this.hit(e);
    for (const len of this.prefixLengths) {
      if (len > key.length) continue;
      const p = this.prefixes.get(key.slice(0, len));
      if (p) return this.hit(p);
    }
    return null;
  }

  private hit(e: TargetingEntry): TargetingHit {
    return {
      listVersion: this.version,
      entryId: e.id,
      match: e.match,
      pattern: e.pattern,
      reason: e.reason ?? null,
    };
  }
}

/** Problems with a proposed list (every one, not just the first). */
export function targetingListIssues(version: string, entries: readonly unknown[]): string[] {
  const issues = versionIssues(version);
  const ids = new Set<string>();
  entries.forEach((raw, i) => entryIssues(raw, i, ids, issues));
  return issues;
}

/** The same checks in slices (a large list does not stall the event loop). */
export async function targetingListIssuesInSlices(
  version: string,
  entries: readonly unknown[],
  slices: Slices,
): Promise<string[]> {
  const issues = versionIssues(version);
  const ids = new Set<string>();
  await slices.forEach(entries, (raw, i) => entryIssues(raw, i, ids, issues));
  return issues;
}

function versionIssues(version: string): string[] {
  return /^[A-Za-z0-9._:-]{1,64}$/.test(version)
    ? []
    : [`version ${JSON.stringify(version)} must be 1-64 characters [A-Za-z0-9._:-]`];
}

function entryIssues(raw: unknown, i: number, ids: Set<string>, issues: string[]): void {
  const e = raw as Partial<TargetingEntry> | null;
  if (!e || typeof e !== 'object') {
    issues.push(`entry ${i}: must be an object`);
    return;
  }
  if (typeof e.id !== 'string' || e.id.length === 0 || e.id.length > 64)
    issues.push(`entry ${i}: id must be a string of 1-64 characters`);
  else if (ids.has(e.id)) issues.push(`entry ${i}: duplicate id '${e.id}'`);
  else ids.add(e.id);
  if (e.match !== 'exact' && e.match !== 'prefix')
    issues.push(`entry ${i}: match must be 'exact' or 'prefix'`);
  if (typeof e.pattern !== 'string' || normalizeCode(e.pattern).length < 2)
    issues.push(`entry ${i}: pattern must be a string of at least 2 characters`);
  if (e.reason !== undefined && e.reason !== null && typeof e.reason !== 'string')
    issues.push(`entry ${i}: reason must be a string`);
}
