import type { Static } from 'typebox';
import type { EventEnvelopeSchema, StatusSchema } from './schema.js';

/**
 * The event envelope every record carries to the central platform. `id` is a UUIDv7 (unique and
 * sortable; a duplicate delivery carries the same id), `stream` the ordered stream the event
 * belongs to ('events' or 'telemetry') and `seq` its sequence number in that stream, assigned in
 * the outbox's commit order, gapless: a platform that sees a gap knows it missed something and
 * can ask for a replay (the only other cause is a disk-quota drop, announced by an
 * `outbox.dropped` event). `monoMs` is the monotonic time of the fact and `time` its wall-clock
 * time. The TypeBox schema (./schema.ts) is the single source of the TypeScript type, the runtime
 * validation and the AsyncAPI document (edge/uplink/asyncapi.yaml); this module only imports its
 * types, so the hot path does not load typebox.
 */
export const EVENT_SCHEMA_VERSION = 1;

export const STREAMS = ['events', 'telemetry'] as const;
export type Stream = (typeof STREAMS)[number];

export type EventEnvelope = Static<typeof EventEnvelopeSchema>;

export interface EdgeEvent {
  schema: typeof EVENT_SCHEMA_VERSION;
  id: string;
  /** sequence number within `stream` */
  seq: number;
  /** filled by the outbox; optional only so older call sites that build events still compile */
  stream?: Stream;
  gatewayId: string;
  type: string;
  parcelId: string | null;
  monoMs: number;
  time: string;
  payload: Record<string, unknown>;
}

/** The wire form of a stored event. */
export function toEnvelope(e: EdgeEvent, replay = false): EventEnvelope {
  const out: EventEnvelope = {
    schema: EVENT_SCHEMA_VERSION,
    id: e.id,
    stream: e.stream ?? streamOf(e.type),
    seq: e.seq,
    gatewayId: e.gatewayId,
    type: e.type,
    parcelId: e.parcelId,
    monoMs: e.monoMs,
    time: e.time,
    payload: e.payload,
  };
  if (replay) out.replay = true;
  return out;
}

/** The fields of a stored event needed to put it on the wire. */
export interface WireFields {
  id: string;
  stream: Stream;
  seq: number;
  type: string;
  parcelId: string | null;
  monoMs: number;
  time: string;
  /** the payload object as JSON text (as stored) */
  payloadJson: string;
}

/**
 * The envelope as JSON text, built around the stored payload text (no parse + re-serialize on
 * the hot path); equal to JSON.stringify(toEnvelope(...)) field for field.
 */
export function envelopeJson(f: WireFields, gatewayId: string, replay = false): string {
  const head = JSON.stringify({
    schema: EVENT_SCHEMA_VERSION,
    id: f.id,
    stream: f.stream,
    seq: f.seq,
    gatewayId,
    type: f.type,
    parcelId: f.parcelId,
    monoMs: f.monoMs,
    time: f.time,
    ...(replay ? { replay: true } : {}),
  });
  return `${head.slice(0, -1)},"payload":${f.payloadJson}}`;
}

/**
 * An event before the outbox has given it an id and a sequence number. The engine's own
 * EngineEventDraft (edge/engine/types.ts) has the same shape, so its output is recorded as is;
 * this module does not import the engine (events sit below it).
 */
export interface EventDraft {
  type: string;
  parcelId: string | null;
  /** monotonic time of the fact */
  atMono: number;
  payload: Record<string, unknown>;
}

/** The telemetry stream: its own topic, QoS 0 allowed, dropped first under disk pressure. */
export const TELEMETRY_TYPE = 'telemetry';

export function streamOf(type: string): Stream {
  return type === TELEMETRY_TYPE || type.startsWith('telemetry.') ? 'telemetry' : 'events';
}

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
  'outbox.dropped',
  'command.executed',
] as const;

export type StatusMessage = Static<typeof StatusSchema>;
