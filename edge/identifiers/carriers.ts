import { isValidS10 } from './s10.js';

/**
 * Identifier validation for waybill numbers read by a scanner: UPU S10 (with its check digit)
 * and per-carrier patterns from the configuration (Chinese express waybills have no published
 * check digit: SF..., YT..., JD..., numeric ones). An invalid code is still reported, marked
 * invalid, and the engine treats it as a no-read.
 */
export interface CarrierPattern {
  /** carrier name for records (sf, yto, jd, ems...) */
  name: string;
  /** a regular expression the whole code must match (anchored here if not already) */
  pattern: string;
}

export interface IdentifierRules {
  /** accept UPU S10 identifiers whose check digit is right */
  s10: boolean;
  carriers: readonly CarrierPattern[];
  /** accept a code no rule recognises (true only where the site has no known formats) */
  acceptUnmatched: boolean;
}

export interface IdentifierVerdict {
  valid: boolean;
  /** 's10' or the carrier's name when a rule matched */
  scheme: string | null;
  /** why the code is invalid */
  reason?: 's10-check-digit' | 'no-rule-matched';
}

const S10_SHAPE = /^[A-Z]{2}\d{9}[A-Z]{2}$/;

/** Example carrier patterns (a site configures its own; these are format guesses, not specs). */
export const EXAMPLE_CARRIERS: readonly CarrierPattern[] = [
  { name: 'sf', pattern: '^SF\\d{12,13}$' },
  { name: 'yto', pattern: '^YT\\d{13}$' },
  { name: 'jd', pattern: '^JD[0-9A-Z]{13,16}$' },
];

export class IdentifierValidator {
  private readonly carriers: { name: string; re: RegExp }[];

  constructor(private readonly rules: IdentifierRules) {
    this.carriers = rules.carriers.map((c) => {
      let source = c.pattern;
      if (!source.startsWith('^')) source = `^(?:${source})`;
      if (!source.endsWith('$')) source = `${source}$`;
      try {
        return { name: c.name, re: new RegExp(source) };
      } catch (err) {
        throw new Error(`carrier ${c.name}: invalid pattern ${JSON.stringify(c.pattern)}`, {
          cause: err,
        });
      }
    });
  }

  check(code: string): IdentifierVerdict {
    if (this.rules.s10 && S10_SHAPE.test(code)) {
      // an S10-shaped code with a wrong check digit is a misread, even if a carrier pattern
      // would also match it
      return isValidS10(code)
        ? { valid: true, scheme: 's10' }
        : { valid: false, scheme: 's10', reason: 's10-check-digit' };
    }
    for (const c of this.carriers) if (c.re.test(code)) return { valid: true, scheme: c.name };
    if (this.rules.acceptUnmatched || (!this.rules.s10 && this.carriers.length === 0))
      return { valid: true, scheme: null };
    return { valid: false, scheme: null, reason: 'no-rule-matched' };
  }
}
