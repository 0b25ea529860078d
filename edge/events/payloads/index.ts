import type { Static, TSchema } from 'typebox';
import { CT_PAYLOADS } from './ct.js';
import { GATEWAY_PAYLOADS } from './gateway.js';
import { INTEGRATION_PAYLOADS } from './integration.js';
import { LINE_PAYLOADS } from './line.js';
import { PARCEL_PAYLOADS } from './parcel.js';

/**
 * The payload schema of every event type: the one source of the TypeScript types the emitters
 * are checked against (`ev()` in the engine, `eventDraft()` everywhere else), of the AsyncAPI
 * document (edge/uplink/asyncapi.yaml) and of the contract test (test/uplink/contract.test.ts).
 *
 * Adding an event type: put its schema in the file of its domain (parcel, ct, line, gateway) or a
 * new one spread in here. An emitter may use a type that has no schema yet (it compiles, its
 * payload is then untyped), but the contract test lists every such type and fails until its
 * schema is here. Versioning rules: docs/platform.md.
 */
export const EVENT_PAYLOADS = {
  ...PARCEL_PAYLOADS,
  ...CT_PAYLOADS,
  ...LINE_PAYLOADS,
  ...GATEWAY_PAYLOADS,
  ...INTEGRATION_PAYLOADS,
} as const satisfies Record<string, TSchema>;

export type EventType = keyof typeof EVENT_PAYLOADS;

/** The payload type of event type T (an untyped record for a type without a schema yet). */
export type EventPayload<T extends string> = T extends EventType
  ? Static<(typeof EVENT_PAYLOADS)[T]>
  : Record<string, unknown>;

export function hasPayloadSchema(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_PAYLOADS, type);
}
