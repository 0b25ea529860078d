import { Type } from 'typebox';
import { TelemetryPayloadSchema } from '../../telemetry/schema.js';
import { UplinkOversizeAlarmSchema } from '../../uplink/packet-size.js';
import { Closed, Count, Id, Mono, Nullable } from './common.js';

/** Payloads of the gateway itself: gates, PLC hand-off, drivers, outbox, commands, audit. */

const ErrorRef = Closed({ code: Type.String(), message: Type.String() });

const PlcHandOffFields = {
  plcId: Id(),
  gateId: Id(),
  action: Type.Union([Type.Literal('divert'), Type.Literal('revoke')]),
  lane: Type.String({ description: "the outlet handed over ('inspection' for a revoke)" }),
  destination: Type.Integer({ description: 'vendor destination number' }),
  trackingId: Type.String({ description: 'waybill, or the parcel id without a valid read' }),
};

/** Who signed a command (docs/security.md): the audit records this, never the sender's claim. */
const CommandSigner = Closed(
  {
    issuer: Type.String(),
    keyId: Type.String(),
    role: Type.String(),
    actor: Nullable(Type.String({ description: 'the person the platform vouches for (act)' })),
    nonce: Type.String(),
    issuedAt: Type.String(),
    expiresAt: Type.String(),
  },
  'the verified signer of a command',
);

export const GATEWAY_PAYLOADS = {
  'gate.fired': Closed({
    gateId: Id(),
    parcelId: Nullable(Type.String()),
    scheduledMono: Mono(),
    actualMono: Mono(),
    latenessMs: Type.Number(),
    leadMs: Type.Number({ description: 'command arrived this long before its time' }),
  }),
  'gate.failed': Closed({ gateId: Id(), parcelId: Nullable(Type.String()), error: Type.String() }),
  'gate.controller_restarted': Closed({
    pid: Nullable(Type.Integer()),
    restarts: Count(),
    reason: Type.String(),
  }),
  'gate.cancel_unmatched': Closed({
    gateId: Id(),
    parcelId: Id(),
    fireAtMono: Mono(),
    reason: Type.String(),
    note: Type.String(),
  }),
  'plc.handoff': Closed({
    ...PlcHandOffFields,
    latencyMs: Type.Number(),
    slackMs: Nullable(Type.Number()),
  }),
  'plc.handoff_failed': Closed({ ...PlcHandOffFields, error: Type.String() }),
  'gateway.started': Closed({ version: Type.String(), lineId: Id() }),
  'gateway.stopped': Closed({}),
  'driver.state': Closed({
    driverId: Id(),
    kind: Type.String(),
    state: Type.Union([
      Type.Literal('stopped'),
      Type.Literal('starting'),
      Type.Literal('running'),
      Type.Literal('degraded'),
      Type.Literal('failed'),
      Type.Literal('stopping'),
    ]),
    lastError: Nullable(ErrorRef),
  }),
  'alarm.driver': Closed({
    driverId: Id(),
    kind: Type.String(),
    code: Type.String({ description: 'an EDGE_* code' }),
    message: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
  }),
  'outbox.dropped': Closed({
    dropped: Closed({ telemetry: Count(), operational: Count(), records: Count() }),
    ranges: Type.Array(
      Closed({
        stream: Type.String(),
        fromSeq: Type.Integer(),
        toSeq: Type.Integer(),
        count: Count(),
      }),
    ),
  }),
  'outbox.reset': Closed({
    reason: Type.String(),
    movedTo: Type.String(),
    seqBase: Type.Integer(),
  }),
  'command.executed': Closed({
    command: Id(),
    id: Type.String(),
    ok: Type.Boolean(),
    error: Type.Optional(Type.String({ description: 'EDGE_* code when not ok' })),
    signer: Type.Optional(Nullable(CommandSigner)),
    args: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'arguments, summarised (a document or long list is named, not copied)',
      }),
    ),
  }),
  'command.refused': Closed(
    {
      command: Type.String({ maxLength: 64, description: 'the topic segment, as sent' }),
      id: Nullable(Type.String()),
      code: Type.String({ description: 'EDGE_COMMAND_* code of the refusal' }),
      reason: Type.String(),
      signer: Nullable(CommandSigner),
      claimedUnverified: Type.Optional(
        Closed(
          { keyId: Nullable(Type.String()), issuer: Nullable(Type.String()) },
          'the key id and issuer the sender claimed, not verified (no signer)',
        ),
      ),
      bytes: Count(),
      retained: Type.Optional(Type.Literal(true)),
      notAuditedBefore: Type.Optional(
        Count('refusals not audited since the last audited one (at most 60 a minute are)'),
      ),
    },
    'a command refused before it ran (unsigned, forged, replayed, expired, retained, oversized...)',
  ),
  'alarm.command-store': Closed({ code: Type.String(), message: Type.String() }),
  'alarm.uplink-oversize': UplinkOversizeAlarmSchema,
  audit: Type.Object(
    {
      action: Id('config.put, gate.jog, targeting.replace, ...'),
      actor: Id('user, or interlock / platform'),
    },
    { additionalProperties: true, description: 'who changed what; details depend on the action' },
  ),
  telemetry: TelemetryPayloadSchema,
} as const;
