import type { TargetingHit, TargetingLookup } from '../engine/types.js';

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

export class TargetingList implements TargetingLookup {
  private readonly exact = new Map<string, TargetingEntry>();
  private readonly prefixes = new Map<string, TargetingEntry>();
  private readonly prefixLengths: number[];

  constructor(
    readonly version: string,
    readonly entries: readonly TargetingEntry[],
  ) {
    for (const e of entries) {
      const key = normalizeCode(e.pattern);
      if (e.match === 'exact') this.exact.set(key, e);
      else this.prefixes.set(key, e);
    }
    this.prefixLengths = [...new Set([...this.prefixes.keys()].map((k) => k.length))].sort(
      (a, b) => b - a,
    );
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
  const issues: string[] = [];
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(version))
    issues.push(`version ${JSON.stringify(version)} must be 1-64 characters [A-Za-z0-9._:-]`);
  const ids = new Set<string>();
  entries.forEach((raw, i) => {
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
  });
  return issues;
}
