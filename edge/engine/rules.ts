import {
  DEFAULT_RULE_ORDER,
  SAFETY_RULES,
  type CtVerdict,
  type Lane,
  type RuleId,
  type RulesConfig,
  type TargetingHit,
} from './types.js';

/**
 * The ordered decision rules. Each rule looks at what is known about a parcel and answers
 * `applies` (with lane and reason), `no`, or `pending` (the answer may still change: wait, unless
 * the decision deadline has passed). The first rule that applies decides, once every earlier
 * rule has answered `no`; a parcel no rule claims goes to pass (`clear`).
 *
 * The fail-safe does not depend on these rules being configured: `failSafeViolation` is checked
 * on every decision by the engine and overrides it (see line-engine.ts), and the config loader
 * rejects a rule order that drops or demotes a safety rule (`rulesConfigIssues`).
 */

export interface ParcelFacts {
  /** tracking lost or doubtful (E-stop, jam, lost encoder, conflicting reads): reason */
  unknown: string | null;
  /** a device the parcel depends on lost its link: reason */
  deviceLost: string | null;
  codeState: 'pending' | 'read' | 'noread' | 'invalid' | 'conflict';
  code: string | null;
  verdict: CtVerdict | null;
  ctConflict: boolean;
  weightState: 'pending' | 'ok' | 'missing';
  weightKg: number | null;
  targetingHit: TargetingHit | null;
}

export interface RuleOutcome {
  ruleId: string;
  lane: Lane;
  /** 'pass', 'exception', 'inspection' or a customs outlet id */
  outlet: string;
  reason: string;
  customsMode?: string;
}

type Status = RuleOutcome | 'no' | 'pending';

export { SAFETY_RULES };

export const DEFAULT_RULES: RulesConfig = {
  order: [...DEFAULT_RULE_ORDER],
  noReadLane: 'exception',
};

export const CLEAR_RULE = { id: 'clear', reason: 'CT clear, identified, not targeted' } as const;
export const FAIL_SAFE_RULE = 'fail-safe-guard';

const inspect = (ruleId: string, reason: string): RuleOutcome => ({
  ruleId,
  lane: 'inspection',
  outlet: 'inspection',
  reason,
});

export class RuleSet {
  private readonly customs: { mode: string; re: RegExp; outlet: string }[];

  constructor(readonly config: RulesConfig) {
    this.customs = (config.customsModes ?? []).map((c) => ({
      mode: c.mode,
      re: new RegExp(c.pattern),
      outlet: c.outlet ?? 'pass',
    }));
  }

  /** The decision, or null while an earlier rule is still pending and the deadline is ahead. */
  evaluate(p: ParcelFacts, deadlinePassed: boolean): RuleOutcome | null {
    for (const id of this.config.order) {
      const s = this.status(id, p, deadlinePassed);
      if (s === 'no') continue;
      if (s === 'pending') return null;
      return s;
    }
    return { ruleId: CLEAR_RULE.id, lane: 'pass', outlet: 'pass', reason: CLEAR_RULE.reason };
  }

  private status(id: RuleId, p: ParcelFacts, late: boolean): Status {
    switch (id) {
      case 'tracking':
        if (p.unknown) return inspect(id, `tracking unknown: ${p.unknown}`);
        if (p.codeState === 'conflict') return inspect(id, 'two different codes on one parcel');
        if (p.ctConflict) return inspect(id, 'two CT scans matched one parcel');
        return 'no';
      case 'device-lost':
        return p.deviceLost ? inspect(id, `device lost: ${p.deviceLost}`) : 'no';
      case 'ct-suspect':
        if (p.verdict === 'suspect') return inspect(id, 'CT verdict suspect');
        return p.verdict === null && !late ? 'pending' : 'no';
      case 'ct-unknown':
        if (p.verdict === 'unknown') return inspect(id, 'CT verdict unknown');
        return p.verdict === null && !late ? 'pending' : 'no';
      case 'targeting':
        if (p.targetingHit) {
          const h = p.targetingHit;
          return inspect(id, `targeting list ${h.listVersion} ${h.match} ${h.pattern}`);
        }
        return p.codeState === 'pending' && !late ? 'pending' : 'no';
      case 'ct-verdict-timeout':
        if (p.verdict !== null) return 'no';
        return late ? inspect(id, 'CT verdict not in by the decision deadline') : 'pending';
      case 'no-read': {
        const lane = this.config.noReadLane;
        if (
          p.codeState === 'noread' ||
          p.codeState === 'invalid' ||
          (late && p.codeState === 'pending')
        )
          return {
            ruleId: id,
            lane,
            outlet: lane,
            reason: p.codeState === 'invalid' ? 'invalid identifier' : 'no valid barcode read',
          };
        return p.codeState === 'pending' ? 'pending' : 'no';
      }
      case 'weight': {
        const w = this.config.weight;
        if (!w) return 'no';
        const out = (reason: string): RuleOutcome => ({
          ruleId: id,
          lane: w.lane,
          outlet: w.lane,
          reason,
        });
        if (p.weightState === 'pending') return late ? out('weight missing') : 'pending';
        if (p.weightState === 'missing' || p.weightKg === null) return out('weight missing');
        if (p.weightKg < w.minKg || p.weightKg > w.maxKg)
          return out(`weight ${p.weightKg} kg outside ${w.minKg}-${w.maxKg} kg`);
        return 'no';
      }
      case 'customs-mode': {
        if (this.customs.length === 0) return 'no';
        if (p.codeState === 'pending') return late ? 'no' : 'pending';
        if (p.codeState !== 'read' || p.code === null) return 'no';
        for (const c of this.customs) {
          if (c.re.test(p.code))
            return {
              ruleId: id,
              lane: 'pass',
              outlet: c.outlet,
              reason: `customs mode ${c.mode}`,
              customsMode: c.mode,
            };
        }
        return this.config.requireCustomsMode
          ? {
              ruleId: id,
              lane: 'exception',
              outlet: 'exception',
              reason: 'waybill matches no customs mode',
            }
          : 'no';
      }
    }
  }
}

/**
 * The fail-safe as a property: why this parcel may not leave for the given lane, or null.
 * A parcel that is suspect, targeted, unknown (verdict unknown or missing, tracking doubtful,
 * a device lost) may only go to inspection; only a parcel with a clear verdict and a valid,
 * checked identity may go to pass.
 */
export function failSafeViolation(p: ParcelFacts, lane: Lane): string | null {
  if (lane === 'inspection') return null;
  if (p.unknown) return `tracking unknown (${p.unknown})`;
  if (p.codeState === 'conflict' || p.ctConflict) return 'tracking conflict';
  if (p.deviceLost) return `device lost (${p.deviceLost})`;
  if (p.targetingHit) return 'targeting-list hit';
  if (p.verdict !== 'clear') return `CT verdict ${p.verdict ?? 'missing'}`;
  if (lane === 'pass' && p.codeState !== 'read') return 'no valid identity';
  return null;
}

/** Config problems that would weaken the fail-safe; used by config/loader semanticIssues. */
export function rulesConfigIssues(r: RulesConfig): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  r.order.forEach((id, i) => {
    if (seen.has(id))
      issues.push({ path: `/line/rules/order/${i}`, message: `rule '${id}' listed twice` });
    seen.add(id);
  });
  for (const id of [...SAFETY_RULES, 'no-read' as const]) {
    if (!seen.has(id))
      issues.push({
        path: '/line/rules/order',
        message: `fail-safe: rule '${id}' is required (it cannot be removed; order it instead)`,
      });
  }
  const firstOther = r.order.findIndex((id) => !SAFETY_RULES.includes(id));
  if (firstOther >= 0) {
    r.order.forEach((id, i) => {
      if (i > firstOther && SAFETY_RULES.includes(id))
        issues.push({
          path: `/line/rules/order/${i}`,
          message: `fail-safe: safety rule '${id}' must come before '${r.order[firstOther]}', or a suspect, targeted or unknown parcel could leave for another lane`,
        });
    });
  }
  if (r.weight && r.weight.minKg > r.weight.maxKg)
    issues.push({ path: '/line/rules/weight', message: 'minKg is greater than maxKg' });
  (r.customsModes ?? []).forEach((c, i) => {
    try {
      new RegExp(c.pattern);
    } catch (err) {
      issues.push({
        path: `/line/rules/customsModes/${i}/pattern`,
        message: `invalid pattern: ${(err as Error).message}`,
      });
    }
  });
  return issues;
}
