/**
 * UPU S10 identifiers (postal / EMS): 2 letters, 8-digit serial, check digit, 2-letter country,
 * e.g. RD223479072CN. Check digit: weights 8 6 4 2 3 5 9 7; C = 11 - (sum mod 11);
 * C = 10 -> 0, C = 11 -> 5.
 */
const WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7] as const;
const S10 = /^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$/;

export function s10CheckDigit(serial: string): number {
  if (!/^\d{8}$/.test(serial)) throw new Error('S10 serial must be 8 digits');
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(serial[i]) * (WEIGHTS[i] ?? 0);
  const c = 11 - (sum % 11);
  if (c === 10) return 0;
  if (c === 11) return 5;
  return c;
}

export function isValidS10(code: string): boolean {
  const m = S10.exec(code);
  if (!m) return false;
  return s10CheckDigit(m[2] ?? '') === Number(m[3]);
}

export function makeS10(prefix: string, serial: string, country: string): string {
  return `${prefix}${serial}${s10CheckDigit(serial)}${country}`;
}
