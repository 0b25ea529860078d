/**
 * Priorities decide what the disk quota drops first: 0 telemetry, 1 operational (driver state,
 * stray reads), 2 records (parcels, CT verdicts and flags, decisions, gates, audit, commands).
 * Configured entries (`outbox.priorities`: exact type or 'prefix.*') override the defaults.
 */
export type Priority = 0 | 1 | 2;

export const PRIORITY_NAMES = ['telemetry', 'operational', 'records'] as const;

export const DEFAULT_PRIORITIES: Readonly<Record<string, Priority>> = {
  telemetry: 0,
  'telemetry.*': 0,
  'driver.*': 1,
  'photoeye.*': 1,
  'read.*': 1,
  'gateway.*': 1,
  'line.*': 1,
  'weight.*': 1,
  'parcel.*': 2,
  'ct.*': 2,
  'gate.*': 2,
  audit: 2,
  'audit.*': 2,
  'command.*': 2,
  'targeting.*': 2,
  'outbox.*': 2,
  'alarm.*': 2,
  'divert.*': 2,
  'tracking.*': 2,
};

/** Unknown types default to records: losing an unclassified record is worse than keeping it. */
export const FALLBACK_PRIORITY: Priority = 2;

export class PriorityTable {
  private readonly exact = new Map<string, Priority>();
  private readonly prefixes: Array<[string, Priority]> = [];
  private readonly cache = new Map<string, Priority>();

  constructor(overrides: Readonly<Record<string, number>> = {}) {
    const merged = { ...DEFAULT_PRIORITIES, ...overrides };
    for (const [pattern, p] of Object.entries(merged)) {
      const prio = Math.max(0, Math.min(2, Math.round(p))) as Priority;
      if (pattern.endsWith('.*')) this.prefixes.push([pattern.slice(0, -1), prio]);
      else this.exact.set(pattern, prio);
    }
    // longest prefix wins
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  of(type: string): Priority {
    const cached = this.cache.get(type);
    if (cached !== undefined) return cached;
    let p = this.exact.get(type);
    if (p === undefined) p = this.prefixes.find(([prefix]) => type.startsWith(prefix))?.[1];
    const result = p ?? FALLBACK_PRIORITY;
    if (this.cache.size < 1000) this.cache.set(type, result);
    return result;
  }
}
