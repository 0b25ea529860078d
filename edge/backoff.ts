/**
 * Capped exponential backoff with jitter ("equal jitter": half fixed, half random), so a fleet of
 * gateways does not reconnect in lockstep after a broker restart. With `firstSpreadMs` > 0 the
 * first retry of a sequence is "full jitter" over that window (uniform in [0, firstSpreadMs]):
 * after a broker restart every gateway of a fleet loses its connection at the same moment, and
 * the first retry is what spreads them (N gateways arrive at about N / window per second); the
 * retries after it grow from `initialMs` as before.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
    private readonly firstSpreadMs = 0,
  ) {}

  next(): number {
    const spread = this.firstSpreadMs > 0;
    if (spread && this.attempt === 0) {
      this.attempt++;
      return Math.round(this.random() * this.firstSpreadMs);
    }
    const k = spread ? this.attempt - 1 : this.attempt;
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(k, 30));
    this.attempt++;
    return Math.round(cap / 2 + this.random() * (cap / 2));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
