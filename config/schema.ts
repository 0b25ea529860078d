import { Type, type Static, type TSchema } from 'typebox';
import { GatesSchema } from './gates-schema.js';
import { HttpConsoleFields, HttpTlsSchema, HttpUserSchema } from './http-schema.js';
import { InspectorSchema } from './inspector-schema.js';
import { LineSchema } from './line-schema.js';
import { Id } from './schema-fields.js';
import { OutboxSchema, UplinkSchema } from './uplink-schema.js';

/**
 * The gateway configuration: one TypeBox source gives the TypeScript types and the JSON Schema
 * (Ajv validates with allErrors). Driver entries are validated in two steps: the common part
 * here, then the driver kind's own schema (see drivers/kinds.ts).
 *
 * The sections live in their own modules and are re-exported here, so callers import from this
 * file only: line-schema.ts (line), gates-schema.ts (gates), uplink-schema.ts (uplink, outbox),
 * http-schema.ts (http users), schema-fields.ts (shared field builders).
 */

export {
  GateInputSchema,
  GateOutputSchema,
  GatesSchema,
  LampSchema,
  type GateOutputConfig,
  type GatesConfig,
} from './gates-schema.js';
export { HttpUserSchema, Role, type HttpUser } from './http-schema.js';
export { InspectorSchema, type InspectorConfig } from './inspector-schema.js';
export { LaneSchema, LineSchema, type LineConfig } from './line-schema.js';
export { UplinkSchema, UplinkTlsSchema, type UplinkConfig } from './uplink-schema.js';

export const CONFIG_VERSION = 1;

export const ConfigSchema = Type.Object(
  {
    version: Type.Literal(CONFIG_VERSION),
    gateway: Type.Object(
      { id: Id('gateway id, also the MQTT client id'), site: Id('site id') },
      { additionalProperties: false },
    ),
    dataDir: Type.String({ default: './data' }),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) =>
            Type.Literal(l),
          ),
          { default: 'info' },
        ),
        pretty: Type.Union([Type.Literal('auto'), Type.Boolean()], { default: 'auto' }),
        rateLimit: Type.Object(
          {
            burst: Type.Integer({
              minimum: 1,
              default: 20,
              description: 'lines written per message key before it is summarised',
            }),
            intervalMs: Type.Integer({
              minimum: 1000,
              default: 60_000,
              description:
                'a summarised key writes one line per interval with the count of lines not written',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        users: Type.Array(HttpUserSchema, { default: [] }),
        ...HttpConsoleFields,
        tls: Type.Optional(HttpTlsSchema),
      },
      { additionalProperties: false, default: {} },
    ),
    embeddedBroker: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 1883 }),
        username: Type.Optional(
          Type.String({ minLength: 1, description: 'required when host is not loopback' }),
        ),
        password: Type.Optional(
          Type.String({ minLength: 12, description: 'usually ${env:NAME} or ${file:PATH}' }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    uplink: UplinkSchema,
    outbox: OutboxSchema,
    line: LineSchema,
    gates: GatesSchema,
    // inspector workstation (issue 16, docs/inspector.md)
    inspector: InspectorSchema,
    drivers: Type.Array(
      Type.Object(
        {
          id: Id('driver id'),
          kind: Type.String({ minLength: 1 }),
          enabled: Type.Boolean({ default: true }),
        },
        { additionalProperties: true },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false },
);

export type GatewayConfig = Static<typeof ConfigSchema>;

export interface DriverKindSchema {
  kind: string;
  schema: TSchema;
}
