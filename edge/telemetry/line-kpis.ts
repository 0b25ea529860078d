import type { EdgeEvent } from '../events/model.js';
import type { TelemetryPayload } from './schema.js';

/**
 * Line KPIs over a sliding window, counted from committed events (one-second buckets):
 * parcels/min (inducted), no-read rate (no-reads / inducted), inspection rate (decisions to the
 * inspection lane / decisions), divert confirmation rate (divert.confirmed / gate.fired).
 */
interface Bucket {
  second: number;
  inducted: number;
  noread: number;
  decided: number;
  inspection: number;
  fired: number;
  confirmed: number;
}

export class LineKpis {
  private readonly buckets: Bucket[] = [];
  private readonly startedMs: number;

  constructor(
    private readonly nowMs: () => number,
    private readonly windowS = 300,
  ) {
    this.startedMs = nowMs();
  }

  observe(events: readonly EdgeEvent[]): void {
    const second = Math.floor(this.nowMs() / 1000);
    let b = this.buckets.at(-1);
    if (!b || b.second !== second) {
      b = { second, inducted: 0, noread: 0, decided: 0, inspection: 0, fired: 0, confirmed: 0 };
      this.buckets.push(b);
      this.trim(second);
    }
    for (const e of events) {
      switch (e.type) {
        case 'parcel.inducted':
          b.inducted++;
          break;
        case 'parcel.noread':
          b.noread++;
          break;
        case 'parcel.decided':
          b.decided++;
          if (e.payload.lane === 'inspection') b.inspection++;
          break;
        case 'gate.fired':
          b.fired++;
          break;
        case 'divert.confirmed':
          b.confirmed++;
          break;
      }
    }
  }

  private trim(second: number): void {
    while (this.buckets.length > 0 && this.buckets[0]!.second <= second - this.windowS) {
      this.buckets.shift();
    }
  }

  snapshot(): TelemetryPayload['line'] {
    const now = this.nowMs();
    this.trim(Math.floor(now / 1000));
    const sum = { inducted: 0, noread: 0, decided: 0, inspection: 0, fired: 0, confirmed: 0 };
    for (const b of this.buckets) {
      sum.inducted += b.inducted;
      sum.noread += b.noread;
      sum.decided += b.decided;
      sum.inspection += b.inspection;
      sum.fired += b.fired;
      sum.confirmed += b.confirmed;
    }
    const windowS = Math.min(this.windowS, Math.max(1, (now - this.startedMs) / 1000));
    const rate = (a: number, b: number) => (b > 0 ? Math.min(1, a / b) : null);
    return {
      windowS: Math.round(windowS),
      parcelsPerMin: Math.round((sum.inducted / windowS) * 60 * 10) / 10,
      noReadRate: rate(sum.noread, sum.inducted),
      inspectionRate: rate(sum.inspection, sum.decided),
      divertConfirmationRate: rate(sum.confirmed, sum.fired),
    };
  }
}
