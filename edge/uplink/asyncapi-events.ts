import type { TSchema } from 'typebox';
import { EVENT_PAYLOADS } from '../events/payloads/index.js';

/**
 * The per-event-type part of the AsyncAPI document: one payload schema and one message per event
 * type of edge/events/payloads (the message is the envelope with that `type` and that payload).
 */

/** Plain JSON Schema: TypeBox's symbol keys dropped, `$id` removed (components name them). */
export function plain(schema: TSchema): Record<string, unknown> {
  const out = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  delete out.$id;
  return out;
}

export const payloadSchemaKey = (type: string) => `${type}.payload`;
export const eventMessageKey = (type: string) => `event.${type}`;

export function eventPayloadSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(EVENT_PAYLOADS).map(([type, schema]) => [payloadSchemaKey(type), plain(schema)]),
  );
}

export function eventMessages(): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(EVENT_PAYLOADS).map((type) => [
      eventMessageKey(type),
      {
        name: type,
        title: type,
        payload: {
          allOf: [
            { $ref: '#/components/schemas/EventEnvelope' },
            {
              type: 'object',
              properties: {
                type: { const: type },
                payload: { $ref: `#/components/schemas/${payloadSchemaKey(type)}` },
              },
            },
          ],
        },
      },
    ]),
  );
}

/** Event types published on `events/<type>` (telemetry has its own channel). */
export function eventChannelTypes(): string[] {
  return Object.keys(EVENT_PAYLOADS).filter((t) => t !== 'telemetry');
}
