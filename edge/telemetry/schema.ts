import { Type, type Static } from 'typebox';

/**
 * The payload of a `telemetry` event (topic `<base>/telemetry`): device health, line KPIs,
 * outbox depth, uplink state and the host (CPU, memory, disk, SoC temperature where readable).
 * Rates are 0..1 over the KPI window, null when there was nothing to divide by.
 */
export const TELEMETRY_PAYLOAD_VERSION = 1;

const Rate = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const TelemetryPayloadSchema = Type.Object(
  {
    v: Type.Literal(TELEMETRY_PAYLOAD_VERSION, { description: 'telemetry payload version' }),
    system: Type.Object(
      {
        cpuPercent: Type.Union([Type.Number({ minimum: 0, maximum: 100 }), Type.Null()], {
          description: 'all cores, since the previous sample; null on the first',
        }),
        load1: Type.Number({ minimum: 0 }),
        memTotalBytes: Type.Integer({ minimum: 0 }),
        memAvailableBytes: Type.Integer({ minimum: 0 }),
        rssBytes: Type.Integer({ minimum: 0 }),
        heapUsedBytes: Type.Integer({ minimum: 0 }),
        diskTotalBytes: NullableNumber,
        diskFreeBytes: NullableNumber,
        socTempC: Type.Union([Type.Number(), Type.Null()], {
          description: 'SoC / CPU thermal zone, null where not readable',
        }),
        uptimeS: Type.Number({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    line: Type.Object(
      {
        windowS: Type.Number({ minimum: 0 }),
        parcelsPerMin: Type.Number({ minimum: 0 }),
        noReadRate: Rate,
        inspectionRate: Rate,
        divertConfirmationRate: Rate,
      },
      { additionalProperties: false },
    ),
    outbox: Type.Object(
      {
        pending: Type.Integer({ minimum: 0 }),
        delivered: Type.Integer({ minimum: 0 }),
        droppedTelemetry: Type.Integer({ minimum: 0 }),
        droppedOperational: Type.Integer({ minimum: 0 }),
        droppedRecords: Type.Integer({ minimum: 0 }),
        alarms: Type.Integer({ minimum: 0 }),
        bytes: Type.Integer({ minimum: 0 }),
        maxBytes: Type.Integer({ minimum: 0 }),
        fileBytes: Type.Integer({ minimum: 0 }),
        /** rows too large for the broker's packet limit, kept on disk (alarm.uplink-oversize) */
        parked: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    uplink: Type.Object(
      {
        state: Type.String(),
        inFlight: Type.Integer({ minimum: 0 }),
        window: Type.Integer({ minimum: 0 }),
        connects: Type.Integer({ minimum: 0 }),
        disconnects: Type.Integer({ minimum: 0 }),
        parkedOversize: Type.Integer({ minimum: 0 }),
        telemetryDroppedOversize: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    devices: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          kind: Type.String(),
          state: Type.String(),
          lastError: Type.Union([Type.String(), Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, $id: 'TelemetryPayload' },
);
export type TelemetryPayload = Static<typeof TelemetryPayloadSchema>;
