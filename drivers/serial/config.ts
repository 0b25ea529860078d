import { Type, type Static, type TSchema } from 'typebox';
import { IdentifiersSchema } from '../../edge/identifiers/schema.js';

/**
 * Configuration of the serial driver kinds (validated by config/loader with Ajv, defaults
 * filled in). One schema per kind keeps validation errors readable:
 *   serial-barcode, serial-mt-sics, serial-toledo, serial-ct-alarm, and serial-sim (simulators).
 */

export const PortSchema = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      description: 'device path; prefer /dev/serial/by-id/... (stable across replugs)',
    }),
    baudRate: Type.Integer({ minimum: 50, maximum: 4_000_000, default: 9600 }),
    dataBits: Type.Union([Type.Literal(5), Type.Literal(6), Type.Literal(7), Type.Literal(8)], {
      default: 8,
    }),
    parity: Type.Union(
      [
        Type.Literal('none'),
        Type.Literal('even'),
        Type.Literal('odd'),
        Type.Literal('mark'),
        Type.Literal('space'),
      ],
      { default: 'none' },
    ),
    stopBits: Type.Union([Type.Literal(1), Type.Literal(1.5), Type.Literal(2)], { default: 1 }),
    flowControl: Type.Union(
      [Type.Literal('none'), Type.Literal('rtscts'), Type.Literal('xonxoff')],
      { default: 'none' },
    ),
  },
  { additionalProperties: false },
);

export const FramingSchema = Type.Object(
  {
    type: Type.Union(
      [
        Type.Literal('delimiter'),
        Type.Literal('stx-etx'),
        Type.Literal('fixed'),
        Type.Literal('inter-byte-timeout'),
      ],
      {
        description: 'how frames are cut out of the byte stream',
      },
    ),
    delimiter: Type.Optional(
      Type.String({
        pattern: '^(crlf|cr|lf|etx|hex:([0-9a-fA-F]{2}){1,8})$',
        description: "delimiter framing: crlf, cr, lf, etx or 'hex:0d0a'",
      }),
    ),
    start: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 255, description: 'stx-etx / fixed: start byte' }),
    ),
    end: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 255, description: 'stx-etx: end byte' }),
    ),
    trailerBytes: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 4, description: 'stx-etx: bytes after the end byte' }),
    ),
    length: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'fixed length' })),
    gapMs: Type.Optional(
      Type.Number({ minimum: 1, maximum: 10_000, description: 'inter-byte timeout' }),
    ),
    maxFrameBytes: Type.Integer({ minimum: 1, maximum: 65_536, default: 256 }),
  },
  { additionalProperties: false },
);

export const ReconnectSchema = Type.Object(
  {
    initialMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
    maxMs: Type.Integer({ minimum: 10, maximum: 300_000, default: 10_000 }),
    pathPollMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
  },
  { additionalProperties: false, default: {} },
);

const Heartbeat = Type.Object(
  {
    text: Type.String({
      minLength: 1,
      description: 'the whole frame the device sends as a heartbeat',
    }),
    timeoutMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 5000 }),
  },
  { additionalProperties: false },
);

const common = <K extends string>(kind: K) => ({
  id: Type.String(),
  kind: Type.Literal(kind),
  enabled: Type.Optional(Type.Boolean()),
  deviceId: Type.Optional(
    Type.String({ description: 'device id in engine signals (default: id)' }),
  ),
  port: PortSchema,
  framing: Type.Optional(FramingSchema),
  reconnect: ReconnectSchema,
  monitorFrames: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
});

/** shared with the OPC UA barcode signals: one identifier check for every source */
export { IdentifiersSchema };

export const SerialBarcodeSchema = Type.Object(
  {
    ...common('serial-barcode'),
    pattern: Type.String({
      default: '^(?<code>[\\x21-\\x7e]+)$',
      description: 'regular expression with a (?<code>) group, optional (?<status>) (?<symbology>)',
    }),
    noRead: Type.Array(Type.String(), { default: ['NOREAD', 'NR', '?'] }),
    multipleRead: Type.Optional(Type.String({ minLength: 1 })),
    noReadStatuses: Type.Array(Type.String(), { default: [] }),
    heartbeat: Type.Optional(Heartbeat),
    identifiers: IdentifiersSchema,
  },
  { additionalProperties: false },
);

const Polling = Type.Object(
  {
    command: Type.Union([Type.Literal('S'), Type.Literal('SI')], { default: 'SI' }),
    intervalMs: Type.Integer({ minimum: 20, maximum: 60_000, default: 250 }),
    timeoutMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
    retries: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
  },
  { additionalProperties: false, default: {} },
);

const Emit = Type.Union([Type.Literal('change'), Type.Literal('every')], {
  default: 'change',
  description: "'change': a weight signal when status or weight changes; 'every': each reading",
});

export const SerialMtSicsSchema = Type.Object(
  {
    ...common('serial-mt-sics'),
    polling: Polling,
    emit: Emit,
    testCommands: Type.Array(Type.String({ pattern: '^[A-Z][A-Z0-9]{0,3}( [ -~]{1,32})?$' }), {
      default: ['S', 'SI', 'I1', 'I2', 'I3', 'I4', 'I5'],
      description: 'commands a technician may send (read-only ones: no Z, T, ...)',
    }),
  },
  { additionalProperties: false },
);

export const SerialToledoSchema = Type.Object(
  {
    ...common('serial-toledo'),
    checksum: Type.Boolean({ default: true }),
    emit: Emit,
    silenceTimeoutMs: Type.Integer({
      minimum: 50,
      maximum: 600_000,
      default: 2000,
      description: 'no frame for this long: the scale is declared lost',
    }),
  },
  { additionalProperties: false },
);

export const SerialCtAlarmSchema = Type.Object(
  {
    ...common('serial-ct-alarm'),
    pattern: Type.Optional(
      Type.String({
        description:
          'regular expression with (?<verdict>), optional (?<scanId>) (?<imageId>) (?<ageMs>)',
      }),
    ),
    verdicts: Type.Optional(
      Type.Object(
        {
          clear: Type.Array(Type.String()),
          suspect: Type.Array(Type.String()),
          unknown: Type.Array(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    scanToLineMs: Type.Number({
      minimum: 0,
      maximum: 600_000,
      default: 0,
      description: 'how long after the tunnel scan the line reports (without an ageMs group)',
    }),
    heartbeat: Type.Optional(Heartbeat),
  },
  { additionalProperties: false },
);

export type SerialBarcodeConfig = Static<typeof SerialBarcodeSchema>;
export type SerialMtSicsConfig = Static<typeof SerialMtSicsSchema>;
export type SerialToledoConfig = Static<typeof SerialToledoSchema>;
export type SerialCtAlarmConfig = Static<typeof SerialCtAlarmSchema>;
export type SerialDriverConfig =
  SerialBarcodeConfig | SerialMtSicsConfig | SerialToledoConfig | SerialCtAlarmConfig;
export type FramingConfig = Static<typeof FramingSchema>;
export type PortConfig = Static<typeof PortSchema>;
export type ReconnectConfig = Static<typeof ReconnectSchema>;

export const SERIAL_SCHEMAS: Readonly<Record<SerialDriverConfig['kind'], TSchema>> = {
  'serial-barcode': SerialBarcodeSchema,
  'serial-mt-sics': SerialMtSicsSchema,
  'serial-toledo': SerialToledoSchema,
  'serial-ct-alarm': SerialCtAlarmSchema,
};
