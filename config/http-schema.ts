import { Type, type Static } from 'typebox';
import { PemPath } from './schema-fields.js';

/**
 * Configuration section `http`: UI / API users and their roles, and HTTPS (see config/schema.ts).
 */

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
export const HttpTlsSchema = Type.Object(
  {
    cert: PemPath('PEM certificate chain file served by the HTTPS server'),
    key: PemPath('PEM private key file of that certificate (a path; the file stays 0600)'),
    ca: Type.Optional(
      PemPath('PEM CA file: when set, clients must present a certificate it signed (mTLS)'),
    ),
    passphrase: Type.Optional(
      Type.String({ description: 'key passphrase, usually ${env:NAME} or ${file:PATH}' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'serve HTTPS with this certificate; required when http.host is not loopback (or put a reverse proxy on loopback in front)',
  },
);
export type HttpTlsConfig = Static<typeof HttpTlsSchema>;
