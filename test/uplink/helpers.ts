import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { UplinkSchema, type UplinkConfig } from '../../config/schema.js';
import { systemClock } from '../../edge/clock.js';
import { silentLogger } from '../../edge/log.js';
import { Outbox, type OutboxOptions } from '../../edge/outbox/outbox.js';

const Ajv = AjvModule.default;
const ajv = new Ajv({ useDefaults: true, strict: false });
const validateUplink = ajv.compile(UplinkSchema);

/** An uplink config with the schema's defaults filled in (as the loader does). */
export function uplinkConfig(partial: Record<string, unknown>): UplinkConfig {
  const doc = structuredClone(partial);
  if (!validateUplink(doc)) throw new Error(JSON.stringify(validateUplink.errors));
  return doc;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function openOutbox(dir: string, extra: Partial<OutboxOptions> = {}): Outbox {
  return new Outbox({
    file: join(dir, 'outbox.sqlite'),
    gatewayId: 'gw-test',
    synchronous: 'FULL',
    batchMaxRows: 500,
    clock: systemClock,
    log: silentLogger(),
    ...extra,
  });
}

export function draft(type: string, i: number, payload: Record<string, unknown> = {}) {
  return { type, parcelId: null, atMono: systemClock.monoMs(), payload: { i, ...payload } };
}
