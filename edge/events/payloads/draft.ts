import type { EventPayload } from './index.js';

/**
 * A typed event draft for emitters outside the engine (the engine's own is `ev()` in
 * edge/engine/parcel.ts): the payload must match the schema of its type. Imports only types, so
 * the hot path does not load typebox.
 */
export function eventDraft<T extends string>(
  type: T,
  parcelId: string | null,
  atMono: number,
  payload: EventPayload<T>,
): { type: T; parcelId: string | null; atMono: number; payload: Record<string, unknown> } {
  return { type, parcelId, atMono, payload: payload as Record<string, unknown> };
}
