import type { EdgeEvent } from '../events/model.js';

/**
 * What the status page shows: the last parcels and their decisions, built only from events the
 * outbox has committed (what is on screen is what the platform will receive).
 */
export interface ParcelRow {
  parcelId: string;
  inductedAt: string;
  code: string | null;
  verdict: string | null;
  lane: string | null;
  ruleId: string | null;
  reason: string | null;
  gate: string | null;
  gateLatenessMs: number | null;
  gateError: string | null;
  /** an alarm the inspectors must act on (alarm.escaped: intercept the parcel downstream) */
  alarm: string | null;
  lastSeq: number;
}

export class ParcelBoard {
  private readonly rows = new Map<string, ParcelRow>();
  private readonly listeners = new Set<(row: ParcelRow) => void>();
  readonly totals = {
    inducted: 0,
    inspection: 0,
    exception: 0,
    pass: 0,
    suspect: 0,
    noRead: 0,
    escaped: 0,
  };

  constructor(private readonly capacity = 200) {}

  apply(events: readonly EdgeEvent[]): void {
    for (const e of events) {
      if (!e.parcelId) continue;
      let row = this.rows.get(e.parcelId);
      if (!row) {
        if (e.type !== 'parcel.inducted') continue;
        row = {
          parcelId: e.parcelId,
          inductedAt: e.time,
          code: null,
          verdict: null,
          lane: null,
          ruleId: null,
          reason: null,
          gate: null,
          gateLatenessMs: null,
          gateError: null,
          alarm: null,
          lastSeq: e.seq,
        };
        this.rows.set(e.parcelId, row);
        this.totals.inducted++;
        if (this.rows.size > this.capacity) {
          const oldest = this.rows.keys().next().value;
          if (oldest !== undefined) this.rows.delete(oldest);
        }
      }
      const p = e.payload;
      row.lastSeq = e.seq;
      switch (e.type) {
        case 'parcel.identified':
          row.code = String(p.code);
          break;
        case 'parcel.noread':
          row.code = p.code === null ? 'NO-READ' : `INVALID ${JSON.stringify(p.code)}`;
          this.totals.noRead++;
          break;
        case 'ct.verdict':
          row.verdict = String(p.verdict);
          if (p.verdict === 'suspect') this.totals.suspect++;
          break;
        case 'parcel.decided': {
          const lane = String(p.lane) as 'inspection' | 'exception' | 'pass';
          // a revised decision (E-stop, link loss, new targeting list) replaces the earlier one
          const previous = row.lane as 'inspection' | 'exception' | 'pass' | null;
          if (previous && previous in this.totals) this.totals[previous]--;
          row.lane = lane;
          row.ruleId = String(p.ruleId);
          row.reason = String(p.reason);
          if (lane in this.totals) this.totals[lane]++;
          break;
        }
        case 'gate.fired':
          row.gate = String(p.gateId);
          row.gateLatenessMs = typeof p.latenessMs === 'number' ? p.latenessMs : null;
          break;
        case 'gate.failed': {
          row.gate = String(p.gateId);
          row.gateError = String(p.error);
          // the gate did not divert: the parcel rides straight through to the inspection lane
          const decided = row.lane as 'inspection' | 'exception' | 'pass' | null;
          if (decided && decided !== 'inspection') {
            this.totals[decided]--;
            this.totals.inspection++;
            row.lane = 'inspection';
            row.reason = `${row.reason ?? ''} (gate failed: straight through to inspection)`;
          }
          break;
        }
        case 'alarm.escaped':
          row.alarm = `ESCAPED to ${String(p.lane)}: intercept downstream (${String(p.reason)})`;
          this.totals.escaped++;
          break;
        case 'plc.handoff_failed':
          if (p.provisional === true) break; // the decision's own hand-off follows
          row.gate = String(p.plcId);
          row.gateError = `hand-off not acknowledged: ${String(p.error)}`;
          break;
        default:
          break;
      }
      for (const l of this.listeners) l(row);
    }
  }

  list(): ParcelRow[] {
    return [...this.rows.values()].reverse();
  }

  subscribe(listener: (row: ParcelRow) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
