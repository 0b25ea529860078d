/**
 * The AsyncAPI 3 document of the platform contract, built from the TypeBox schemas the code uses.
 * `npx tsx edge/uplink/asyncapi.ts --write` regenerates edge/uplink/asyncapi.yaml;
 * test/uplink/asyncapi.test.ts fails when the file and the schemas diverge.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { COMMAND_ARGS, CommandReplySchema, CommandRequestSchema } from '../commands/schemas.js';
import { DeviceStatusSchema, EventEnvelopeSchema, StatusSchema } from '../events/schema.js';
import {
  eventChannelTypes,
  eventMessageKey,
  eventMessages,
  eventPayloadSchemas,
  payloadSchemaKey,
  plain,
} from './asyncapi-events.js';

/** `<schema>.<minor>.<patch>`: see docs/platform.md for when each part moves. */
export const CONTRACT_VERSION = '1.1.0';

export const ASYNCAPI_FILE = fileURLToPath(new URL('./asyncapi.yaml', import.meta.url));

const ref = (path: string) => ({ $ref: path });
const param = (description: string) => ({ description });
const BASE = '{root}/{site}/{gatewayId}';
const baseParams = {
  root: param('uplink.topicRoot (default customs)'),
  site: param('gateway.site'),
  gatewayId: param('gateway.id, also the MQTT client id'),
};

export function buildAsyncApi(): Record<string, unknown> {
  const commandMessages: Record<string, unknown> = {};
  const argSchemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(COMMAND_ARGS)) {
    const key = `Command_${name.replace(/-/g, '_')}`;
    argSchemas[`${key}_args`] = plain(schema);
    commandMessages[key] = {
      name,
      title: `command ${name}`,
      payload: {
        allOf: [
          ref('#/components/schemas/CommandRequest'),
          {
            type: 'object',
            properties: { args: ref(`#/components/schemas/${key}_args`) },
          },
        ],
      },
      correlationId: ref('#/components/correlationIds/commandId'),
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Customs CT line edge gateway <-> central platform',
      version: CONTRACT_VERSION,
      description: [
        'MQTT contract between an edge gateway of a customs CT inspection line and the central platform.',
        'Events are stored in the gateway outbox (SQLite) before they are acknowledged and published',
        'QoS 1 in commit order; `stream` + `seq` are gapless per stream (a gap means a lost message:',
        'send the `replay` command; disk-quota drops are announced by an `outbox.dropped` event; an',
        "event larger than the broker's Maximum Packet Size is parked, not sent, and named by an",
        '`alarm.uplink-oversize` event: replay it once the limit allows);',
        'a duplicate delivery carries the same `id`. Every event type has its own payload schema',
        '(message `event.<type>`); consumers ignore fields and event types they do not know.',
        'The envelope `schema` is the major version of this contract and moves only on a breaking',
        'change; `info.version` is <schema>.<minor>.<patch> (rules: docs/platform.md).',
        'Generated from the TypeBox schemas by edge/uplink/asyncapi.ts; do not edit by hand.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    servers: {
      platform: {
        host: 'broker.platform.example:8883',
        protocol: 'mqtts',
        description:
          'MQTT 5 (or 3.1.1) over TLS; client certificate (mTLS) and/or username/password; client id = gateway id; persistent session; last will = retained offline status',
      },
    },
    channels: {
      events: {
        address: `${BASE}/events/{eventType}`,
        parameters: {
          ...baseParams,
          eventType: { description: 'the event type', enum: eventChannelTypes() },
        },
        messages: Object.fromEntries(
          eventChannelTypes().map((t) => [
            eventMessageKey(t),
            ref(`#/components/messages/${eventMessageKey(t)}`),
          ]),
        ),
      },
      telemetry: {
        address: `${BASE}/telemetry`,
        parameters: baseParams,
        messages: { telemetry: ref('#/components/messages/Telemetry') },
      },
      status: {
        address: `${BASE}/status`,
        parameters: baseParams,
        messages: { status: ref('#/components/messages/Status') },
      },
      deviceStatus: {
        address: `${BASE}/devices/{deviceId}/status`,
        description:
          'Retained availability of each device (driver, gate controller, line device). Stale while `<base>/status` is offline or carries another session; republished after every connect; cleared (empty retained message) for a device no longer configured.',
        parameters: { ...baseParams, deviceId: param('driver or device id') },
        messages: { deviceStatus: ref('#/components/messages/DeviceStatus') },
      },
      commands: {
        address: `${BASE}/commands/{command}`,
        description:
          'ping, config-get and a replay of at most unsignedReplayMaxEvents may be sent as the plain JSON CommandRequest. Every other command is sent as a JWS in compact serialization (RFC 7515, alg EdDSA / Ed25519) whose payload is the CommandRequest JSON and whose protected header carries kid, iss, sub (<site>/<gatewayId>), cmd (the command), role, iat, exp (at most uplink.commands.signing.maxLifetimeS after iat) and jti (a one-time nonce); see docs/security.md. Retained messages are refused.',
        parameters: { ...baseParams, command: { enum: Object.keys(COMMAND_ARGS) } },
        messages: Object.fromEntries(
          Object.keys(commandMessages).map((k) => [k, ref(`#/components/messages/${k}`)]),
        ),
      },
      replies: {
        address: `${BASE}/replies/{command}`,
        description:
          'Replies when the command carried no MQTT 5 response topic (always on MQTT 3.1.1); the request id correlates. With a response topic, the reply goes there with the request correlation data.',
        parameters: { ...baseParams, command: { enum: Object.keys(COMMAND_ARGS) } },
        messages: { reply: ref('#/components/messages/CommandReply') },
      },
    },
    operations: {
      sendEvents: {
        action: 'send',
        channel: ref('#/channels/events'),
        bindings: { mqtt: { qos: 1, retain: false } },
      },
      sendTelemetry: {
        action: 'send',
        channel: ref('#/channels/telemetry'),
        description: 'QoS per uplink.telemetry.qos (0 by default)',
        bindings: { mqtt: { qos: 0, retain: false } },
      },
      sendStatus: {
        action: 'send',
        channel: ref('#/channels/status'),
        description: 'online on connect; offline as the last will and on a clean stop',
        bindings: { mqtt: { qos: 1, retain: true } },
      },
      sendDeviceStatus: {
        action: 'send',
        channel: ref('#/channels/deviceStatus'),
        description: 'on every change and for every device after each connect',
        bindings: { mqtt: { qos: 1, retain: true } },
      },
      receiveCommands: {
        action: 'receive',
        channel: ref('#/channels/commands'),
        bindings: { mqtt: { qos: 1 } },
        reply: { channel: ref('#/channels/replies') },
      },
    },
    components: {
      schemas: {
        EventEnvelope: plain(EventEnvelopeSchema),
        Status: plain(StatusSchema),
        DeviceStatus: plain(DeviceStatusSchema),
        ...eventPayloadSchemas(),
        CommandRequest: plain(CommandRequestSchema),
        CommandReply: plain(CommandReplySchema),
        ...argSchemas,
      },
      correlationIds: {
        commandId: {
          description: 'MQTT 5: the correlation data property; MQTT 3.1.1: the request id',
          location: '$message.payload#/id',
        },
      },
      messages: {
        ...eventMessages(),
        Telemetry: {
          name: 'telemetry',
          payload: {
            allOf: [
              ref('#/components/schemas/EventEnvelope'),
              {
                type: 'object',
                properties: {
                  type: { const: 'telemetry' },
                  payload: ref(`#/components/schemas/${payloadSchemaKey('telemetry')}`),
                },
              },
            ],
          },
        },
        Status: { name: 'status', payload: ref('#/components/schemas/Status') },
        DeviceStatus: { name: 'device-status', payload: ref('#/components/schemas/DeviceStatus') },
        CommandReply: {
          name: 'reply',
          payload: ref('#/components/schemas/CommandReply'),
          correlationId: ref('#/components/correlationIds/commandId'),
        },
        ...commandMessages,
      },
    },
  };
}

export function renderAsyncApi(): string {
  return `# Generated by edge/uplink/asyncapi.ts from the TypeBox schemas; do not edit.\n${stringify(buildAsyncApi(), { lineWidth: 100, aliasDuplicateObjects: false })}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  // formatted as `npm run lint` wants it (prettier is a development dependency)
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(ASYNCAPI_FILE)) ?? {};
  writeFileSync(
    ASYNCAPI_FILE,
    await prettier.format(renderAsyncApi(), { ...options, filepath: ASYNCAPI_FILE }),
  );
  process.stdout.write(`wrote ${ASYNCAPI_FILE}\n`);
}
