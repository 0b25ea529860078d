import { Type, type Static } from 'typebox';

/** Configuration section `http.users`: UI / API users and their roles (see config/schema.ts). */

export const Role = Type.Union([
  Type.Literal('viewer'),
  Type.Literal('inspector'),
  Type.Literal('technician'),
  Type.Literal('admin'),
]);
export type Role = Static<typeof Role>;

export const HttpUserSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    role: Role,
    password: Type.Optional(
      Type.String({
        minLength: 8,
        description: 'plain secret, usually ${env:NAME} or ${file:PATH}',
      }),
    ),
    passwordHash: Type.Optional(
      Type.String({ pattern: '^scrypt\\$', description: 'scrypt$<salt hex>$<hash hex>' }),
    ),
  },
  { additionalProperties: false },
);

export type HttpUser = Static<typeof HttpUserSchema>;

/** The read-only credential Prometheus uses for GET /metrics (no other route accepts it). */
export const MetricsCredentialSchema = Type.Object(
  {
    user: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.Optional(
      Type.String({ minLength: 8, description: 'usually ${env:NAME} or ${file:PATH}' }),
    ),
    passwordHash: Type.Optional(Type.String({ pattern: '^scrypt\\$' })),
  },
  { additionalProperties: false },
);

/** Console and metrics settings of the `http` section (config/schema.ts spreads them in). */
export const HttpConsoleFields = {
  /** console sessions end after this long without activity */
  sessionIdleMinutes: Type.Integer({
    minimum: 1,
    maximum: 720,
    default: 15,
    description: 'a console session ends after this many minutes without activity',
  }),
  metrics: Type.Optional(MetricsCredentialSchema),
};
