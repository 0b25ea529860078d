import type { EventPayload } from '../events/payloads/index.js';
import type { ParcelFacts, RuleOutcome } from './rules.js';
import type { EngineEventDraft, EngineOutput, Lane, LaneGeometry, ParcelIds } from './types.js';

/** What the engine keeps per parcel, and small helpers shared by its parts. */

export interface Outlet {
  id: string;
  lane: Lane;
  geom: LaneGeometry;
}

export interface TrackedParcel extends ParcelFacts {
  id: string;
  inductedAtMono: number;
  /** belt odometer at induction: position = odometer now - startMm */
  startMm: number;
  lengthMm: number | null;
  scanId: string | null;
  imageId: string | null;
  /** every identifier the parcel was given (correlation.ts), normalised */
  ids: ParcelIds;
  /** the gateway's induction count (1, 2, ...) since the engine started */
  inductionSeq: number;
  /** PLC hand-offs issued for this parcel (each carries the next number) */
  handOffSeq: number;
  /**
   * no read arrived by the end of the scanner window: a read made inside the window that is
   * delivered later (network, publishing interval) is still taken until the parcel is decided
   */
  readTimedOut: boolean;
  targetingVersion: string | null;
  decided: (RuleOutcome & { atMono: number }) | null;
  /**
   * The divert: gpio command state or plc hand-off. `fireAtMono` is the current estimate (from
   * the belt odometer, PLC lanes included, so `done` follows the belt); `sentFireAtMono` is the
   * time in the GPIO command actually sent (null when none is out, and always for a PLC
   * hand-off), which a withdrawal names and at which the gate really acts.
   */
  gate: {
    outlet: Outlet;
    fireAtMono: number | null;
    sentFireAtMono: number | null;
    issued: boolean;
    done: boolean;
  } | null;
  confirm: 'none' | 'pending' | 'confirmed' | 'missorted' | 'unconfirmed';
}

export interface TrackingSnapshot {
  lineId: string;
  takenAtMono: number;
  parcels: { id: string; code: string | null; lane: Lane | null; ruleId: string | null }[];
}

export function newOutput(): EngineOutput {
  return { events: [], gateCommands: [], gateCancels: [], plcCommands: [] };
}

/** An event draft; its payload is checked against the schema of its type (edge/events/payloads). */
export function ev<T extends string>(
  type: T,
  parcelId: string | null,
  atMono: number,
  payload: EventPayload<T>,
): EngineEventDraft {
  return { type, parcelId, atMono, payload: payload as Record<string, unknown> };
}

/** The inspectors must intercept this parcel downstream: it left for a lane it may not take. */
export function escaped(
  parcelId: string,
  waybill: string | null,
  lane: string | null,
  outlet: string | null,
  atMono: number,
  reason: string,
) {
  return ev('alarm.escaped', parcelId, atMono, {
    parcelId,
    waybill,
    lane,
    outlet,
    reason,
    severity: 'critical',
    action: 'intercept the parcel downstream of the lane it took',
  });
}

export function takeSnapshot(
  lineId: string,
  parcels: readonly TrackedParcel[],
  nowMono: number,
): TrackingSnapshot {
  return {
    lineId,
    takenAtMono: nowMono,
    parcels: parcels.map((p) => ({
      id: p.id,
      code: p.code,
      lane: p.decided?.lane ?? null,
      ruleId: p.decided?.ruleId ?? null,
    })),
  };
}

/** The decisions recorded for the parcels of a snapshot taken before a restart: inspection. */
export function restoreOutput(
  lineId: string,
  snapshot: TrackingSnapshot | null,
  nowMono: number,
): EngineOutput {
  const out = newOutput();
  if (!snapshot) return out;
  for (const p of snapshot.parcels) {
    out.events.push(
      ev('parcel.decided', p.id, nowMono, {
        lineId,
        lane: 'inspection',
        outlet: 'inspection',
        ruleId: 'tracking',
        reason: 'tracking unknown: gateway restarted while the parcel was on the line',
        code: p.code,
        revised: p.lane !== null,
        previousLane: p.lane,
        previousRuleId: p.ruleId,
      }),
    );
  }
  out.events.push(
    ev('tracking.restored', null, nowMono, {
      lineId,
      parcels: snapshot.parcels.length,
      snapshotAtMono: snapshot.takenAtMono,
    }),
  );
  return out;
}
