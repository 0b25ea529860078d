import { describe, expect, it } from 'vitest';
import { EXAMPLE_CARRIERS, IdentifierValidator } from '../../edge/identifiers/carriers.js';
import { isValidS10, s10CheckDigit } from '../../edge/identifiers/s10.js';

describe('identifier validation', () => {
  it('S10 check digit vectors from domain.md', () => {
    expect(['47312482', '22347907', '41034224', '00000000'].map(s10CheckDigit)).toEqual([
      9, 2, 9, 5,
    ]);
    expect(isValidS10('RD223479072CN')).toBe(true);
  });

  it('S10 with a wrong check digit is invalid even if a carrier pattern matches it', () => {
    const v = new IdentifierValidator({
      s10: true,
      carriers: [{ name: 'any', pattern: '[A-Z0-9]+' }],
      acceptUnmatched: false,
    });
    expect(v.check('RD223479072CN')).toEqual({ valid: true, scheme: 's10' });
    expect(v.check('RD223479073CN')).toEqual({
      valid: false,
      scheme: 's10',
      reason: 's10-check-digit',
    });
    expect(v.check('ABC')).toEqual({ valid: true, scheme: 'any' });
  });

  it('carrier patterns are anchored; unmatched codes are invalid unless accepted', () => {
    const v = new IdentifierValidator({
      s10: true,
      carriers: EXAMPLE_CARRIERS,
      acceptUnmatched: false,
    });
    expect(v.check('SF1234567890123')).toEqual({ valid: true, scheme: 'sf' });
    expect(v.check('xSF1234567890123')).toMatchObject({ valid: false, reason: 'no-rule-matched' });
    expect(v.check('YT1234567890123')).toEqual({ valid: true, scheme: 'yto' });
    const open = new IdentifierValidator({ s10: true, carriers: [], acceptUnmatched: true });
    expect(open.check('12345')).toEqual({ valid: true, scheme: null });
    expect(open.check('RD223479073CN').valid).toBe(false);
    const none = new IdentifierValidator({ s10: false, carriers: [], acceptUnmatched: false });
    expect(none.check('anything').valid).toBe(true);
  });

  it('a bad carrier pattern is reported with its name', () => {
    expect(
      () =>
        new IdentifierValidator({
          s10: false,
          carriers: [{ name: 'jd', pattern: '(' }],
          acceptUnmatched: false,
        }),
    ).toThrow(/carrier jd/);
  });
});
