import type { Slices } from './slices.js';
import type { TargetingEntry } from './targeting-list.js';

/**
 * Entries of a platform `targeting-replace` command ({ ruleId, waybill?, pattern?, invtNo?,
 * reason? }, edge/commands/schemas.ts) as targeting-list entries: a waybill is an exact match, a
 * pattern a prefix match (a trailing '*' is allowed). The line engine matches waybills, so an
 * entry with only an inventory number (invtNo) cannot be applied here: it is returned in
 * `unsupported` and the caller rejects the list rather than silently dropping a target.
 */
export interface CommandTargetingEntry {
  ruleId: string;
  waybill?: string;
  pattern?: string;
  invtNo?: string;
  reason?: string;
}

export function entriesFromCommand(entries: readonly CommandTargetingEntry[]): {
  entries: TargetingEntry[];
  unsupported: string[];
} {
  const c = converter();
  entries.forEach(c.add);
  return c.result;
}

/** The same in slices (a 500,000-entry list does not stall the event loop). */
export async function entriesFromCommandInSlices(
  entries: readonly CommandTargetingEntry[],
  slices: Slices,
): Promise<{ entries: TargetingEntry[]; unsupported: string[] }> {
  const c = converter();
  await slices.forEach(entries, c.add);
  return c.result;
}

function converter() {
  const out: TargetingEntry[] = [];
  const unsupported: string[] = [];
  const used = new Map<string, number>();
  const idFor = (ruleId: string) => {
    const n = (used.get(ruleId) ?? 0) + 1;
    used.set(ruleId, n);
    return n === 1 ? ruleId : `${ruleId}#${n}`;
  };
  const add = (e: CommandTargetingEntry, i: number) => {
    const reason = e.reason ?? null;
    if (e.waybill) out.push({ id: idFor(e.ruleId), match: 'exact', pattern: e.waybill, reason });
    if (e.pattern)
      out.push({
        id: idFor(e.ruleId),
        match: 'prefix',
        pattern: e.pattern.replace(/\*$/, ''),
        reason,
      });
    if (!e.waybill && !e.pattern)
      unsupported.push(
        `entry ${i} (rule ${e.ruleId}): no waybill or pattern to match on this line`,
      );
  };
  return { add, result: { entries: out, unsupported } };
}
