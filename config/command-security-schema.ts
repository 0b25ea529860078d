import { Type, type Static } from 'typebox';

/**
 * Configuration of signed platform commands (`uplink.commands`): the platform's public keys
 * pinned on the gateway, the claims' time limits, and the size / nesting limits every command is
 * held to before it is parsed. See docs/security.md and edge/commands/command-auth.ts.
 */

/** What a signature lets its holder do; each state-changing command needs one. */
export const COMMAND_ROLES = ['targeting', 'config', 'officer', 'maintenance', 'replay'] as const;
export type CommandRole = (typeof COMMAND_ROLES)[number];

export const CommandRoleSchema = Type.Union(
  [
    Type.Literal('targeting'),
    Type.Literal('config'),
    Type.Literal('officer'),
    Type.Literal('maintenance'),
    Type.Literal('replay'),
  ],
  {
    description:
      'targeting: targeting-replace; config: config-put; officer: ct-decision; maintenance: gate-test; replay: a replay of more than unsignedReplayMaxEvents',
  },
);

export const CommandKeySchema = Type.Object(
  {
    id: Type.String({
      pattern: '^[A-Za-z0-9._:-]{1,64}$',
      description: "key id: the JWS header 'kid' names it",
    }),
    issuer: Type.String({
      minLength: 1,
      maxLength: 128,
      description: "the JWS header 'iss' a command signed with this key must carry",
    }),
    publicKey: Type.String({
      minLength: 40,
      maxLength: 512,
      description:
        'Ed25519 public key: base64 of its SPKI DER (MCowBQYDK2VwAyEA...) or PEM (npm run command:keygen prints it); a public key, not a secret',
    }),
    roles: Type.Array(CommandRoleSchema, {
      minItems: 1,
      uniqueItems: true,
      description: 'the roles this key may sign for',
    }),
    notBefore: Type.Optional(
      Type.String({ description: 'ISO date-time: commands signed before it are refused' }),
    ),
    notAfter: Type.Optional(
      Type.String({ description: 'ISO date-time: the key is refused after it (rotation)' }),
    ),
  },
  { additionalProperties: false },
);
export type CommandKeyConfig = Static<typeof CommandKeySchema>;

export const commandSecurityFields = {
  signing: Type.Object(
    {
      keys: Type.Array(CommandKeySchema, {
        default: [],
        maxItems: 8,
        description:
          'pinned platform keys; during a rotation the old and the new key are both listed (each may carry notAfter / notBefore). No key: every state-changing command is refused',
      }),
      maxLifetimeS: Type.Integer({
        minimum: 10,
        maximum: 900,
        default: 300,
        description: "a signed command's exp - iat may not exceed this (short-lived commands)",
      }),
      clockSkewS: Type.Integer({
        minimum: 0,
        maximum: 300,
        default: 30,
        description: 'tolerated difference between the platform clock and the gateway clock',
      }),
    },
    { additionalProperties: false, default: {} },
  ),
  unsignedReplayMaxEvents: Type.Integer({
    minimum: 0,
    default: 1000,
    description: 'a replay of more events than this needs a signature (role replay)',
  }),
  maxUnsignedBytes: Type.Integer({
    minimum: 1024,
    maximum: 1_048_576,
    default: 16_384,
    description: 'largest unsigned command (ping, config-get, small replay), refused unread above',
  }),
  maxSignedBytes: Type.Integer({
    minimum: 65_536,
    maximum: 67_108_864,
    default: 50_331_648,
    description:
      'largest signed command (a 500,000-entry targeting list is 17-35 MB signed, by the length of its fields); also sent as the MQTT 5 CONNECT Maximum Packet Size (plus 64 KiB), so the broker never delivers larger',
  }),
  maxDepth: Type.Integer({
    minimum: 4,
    maximum: 64,
    default: 16,
    description: 'deepest JSON nesting of a command, checked on the bytes before parsing',
  }),
  maxQueued: Type.Integer({
    minimum: 10,
    maximum: 100_000,
    default: 1000,
    description:
      'commands waiting to be checked; more are dropped unanswered (counted in health: commands.counters.dropped)',
  }),
} as const;
