import type { EngineEventDraft } from '../engine/types.js';

/**
 * The event envelope every record carries to the central platform. `id` is a UUIDv7 (unique and
 * sortable), `seq` the per-gateway sequence number (gapless, assigned in the outbox's commit
 * order), `monoMs` the monotonic time of the fact and `time` its wall-clock time.
 */
export const EVENT_SCHEMA_VERSION = 1;

export interface EdgeEvent {
  schema: typeof EVENT_SCHEMA_VERSION;
  id: string;
  seq: number;
  gatewayId: string;
  type: string;
  parcelId: string | null;
  monoMs: number;
  time: string;
  payload: Record<string, unknown>;
}

/** An event before the outbox has given it an id and a sequence number. */
export type EventDraft = EngineEventDraft;

/** Event types carried by the skeleton (more arrive with later issues). */
export const EVENT_TYPES = [
  'parcel.inducted',
  'parcel.identified',
  'parcel.noread',
  'parcel.decided',
  'ct.verdict',
  'ct.unmatched',
  'ct.duplicate',
  'read.unmatched',
  'read.duplicate',
  'read.conflict',
  'photoeye.ignored',
  'gate.fired',
  'gate.failed',
  'driver.state',
  'gateway.started',
  'gateway.stopped',
] as const;
