/** Weight units to kilograms (MT-SICS and Toledo report g, kg, t, lb, oz, mg). */
const TO_KG: Readonly<Record<string, number>> = {
  mg: 1e-6,
  g: 1e-3,
  kg: 1,
  t: 1000,
  lb: 0.45359237,
  oz: 0.028349523125,
};

export function toKg(value: number, unit: string): number | null {
  const f = TO_KG[unit];
  if (f === undefined || !Number.isFinite(value)) return null;
  // round away binary noise from the factor (a scale has at most 6 decimals of resolution)
  return Math.round(value * f * 1e9) / 1e9;
}
