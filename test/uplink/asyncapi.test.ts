import { readFileSync, rmSync } from 'node:fs';
import AjvModule from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { systemClock } from '../../edge/clock.js';
import { envelopeJson } from '../../edge/events/model.js';
import { silentLogger } from '../../edge/log.js';
import { TelemetryPublisher } from '../../edge/telemetry/telemetry.js';
import { SystemProbe } from '../../edge/telemetry/system-probe.js';
import { ASYNCAPI_FILE, buildAsyncApi } from '../../edge/uplink/asyncapi.js';
import { draft, openOutbox, tempDir } from './helpers.js';

/**
 * The AsyncAPI document in the repo is the one the TypeBox schemas generate (regenerate with
 * `npx tsx edge/uplink/asyncapi.ts --write`), and what the code emits validates against it.
 */
const Ajv = AjvModule.default;
const doc = parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as {
  asyncapi: string;
  channels: Record<string, { address: string }>;
  components: { schemas: Record<string, object> };
};
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
for (const [name, schema] of Object.entries(doc.components.schemas)) {
  ajv.addSchema(schema, `#/components/schemas/${name}`);
}
function check(name: string, value: unknown): void {
  const validate = ajv.getSchema(`#/components/schemas/${name}`)!;
  expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
}

const dir = tempDir('asyncapi-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('AsyncAPI document', () => {
  it('is generated from the schemas the code uses (fails when they diverge)', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(doc).toEqual(JSON.parse(JSON.stringify(buildAsyncApi())));
    expect(doc.channels.events!.address).toBe('{root}/{site}/{gatewayId}/events/{eventType}');
  });

  it('describes what the gateway actually sends', async () => {
    const outbox = openOutbox(dir);
    const [event] = await outbox.append([draft('parcel.decided', 1, { lane: 'inspection' })]);
    const [row] = outbox.pending(0, 1);
    const wire = JSON.parse(envelopeJson(row!, 'gw-test')) as Record<string, unknown>;
    check('EventEnvelope', wire);
    check('EventEnvelope', JSON.parse(envelopeJson(row!, 'gw-test', true)));
    expect(wire).toMatchObject({
      id: event!.id,
      seq: 1,
      stream: 'events',
      payload: { lane: 'inspection' },
    });
    // an envelope with an unknown field or a bad seq is rejected by the document's schema
    const bad = ajv.getSchema('#/components/schemas/EventEnvelope')!;
    expect(bad({ ...wire, seq: 0 })).toBe(false);
    expect(bad({ ...wire, extra: 1 })).toBe(false);

    const telemetry = new TelemetryPublisher({
      intervalMs: 60_000,
      outbox,
      probe: new SystemProbe({ dataDir: dir }),
      devices: () => [
        { id: 'scanner-1', kind: 'serial-scanner', state: 'running', lastError: null },
      ],
      uplink: () => null,
      monoMs: systemClock.monoMs,
      atMono: systemClock.monoMs,
      log: silentLogger(),
    });
    check('telemetry.payload', telemetry.collect());
    check('Status', {
      schema: 1,
      state: 'online',
      gatewayId: 'g',
      version: '1',
      startedAt: new Date().toISOString(),
    });
    check('CommandReply', {
      schema: 1,
      id: null,
      command: 'ping',
      ok: false,
      error: { code: 'EDGE_COMMAND_INVALID', message: 'x' },
      time: new Date().toISOString(),
    });
    check('CommandRequest', { schema: 1, id: 'c-1', args: { fromSeq: 1 } });
    check('Command_replay_args', { stream: 'events', fromSeq: 3 });
    outbox.close();
  });
});
