import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLineSim } from '../line/line-sim.js';
import {
  ALL_FAULTS,
  STRESS_FAULTS,
  WEIGHTS,
  fullRulesLine,
  modelOptions,
} from '../line/line-presets.js';
import { toEnvelope } from '../../edge/events/model.js';
import { EVENT_PAYLOADS, hasPayloadSchema } from '../../edge/events/payloads/index.js';
import { UuidV7Generator } from '../../edge/events/uuidv7.js';
import { ContractChecker } from '../support/contract.js';

/**
 * The platform contract cannot drift: every event the fault soak's engine emits (stress faults:
 * restarts, E-stops, jams, device loss, conflicts...) is put in its envelope, serialised as on the
 * wire and validated against its message in edge/uplink/asyncapi.yaml; the simulated line end to
 * end does the same for what really reaches the broker (test/e2e/simulated-line.test.ts). And
 * every event type named by an emitter in the source has a schema.
 */
const ROOT = new URL('../../', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Event types written as string literals at emit sites: ev(...), eventDraft(...), type: '...'. */
function emittedTypesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  const files = [...sourceFiles(join(ROOT, 'edge')), ...sourceFiles(join(ROOT, 'drivers'))].filter(
    (f) => !f.includes('/events/payloads/'),
  );
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const add = (type: string) => found.set(type, relative(ROOT, file));
    for (const m of text.matchAll(/\b(?:ev|eventDraft)\(\s*([^,]+),/g))
      for (const lit of m[1]!.matchAll(/'([a-z][a-z0-9_.-]*)'/g))
        if (lit[1]!.includes('.') || lit[1] === 'audit') add(lit[1]!); // not lane names etc.
    for (const m of text.matchAll(/\btype: '([a-z]+\.[a-z0-9_.-]+)'/g)) add(m[1]!);
    for (const m of text.matchAll(/export const [A-Z_]+ = '((?:alarm|event)\.[a-z0-9_.-]+)'/g))
      add(m[1]!);
  }
  return found;
}

describe('platform contract', () => {
  it('every event type an emitter names in the source has a payload schema', () => {
    const found = emittedTypesInSource();
    expect(found.size).toBeGreaterThan(40);
    const missing = [...found].filter(([t]) => !hasPayloadSchema(t)).map(([t, f]) => `${t} (${f})`);
    expect(missing, `event types without a payload schema: ${missing.join(', ')}`).toEqual([]);
  });

  it('every event of the fault soak validates against its message in asyncapi.yaml', () => {
    const checker = new ContractChecker();
    const ids = new UuidV7Generator(() => Date.now());
    let seq = 0;
    const check = (e: {
      type: string;
      parcelId: string | null;
      atMono: number;
      payload: object;
    }) => {
      const envelope = toEnvelope({
        schema: 1,
        id: ids.next(),
        seq: ++seq,
        gatewayId: 'gw-contract',
        type: e.type,
        parcelId: e.parcelId,
        monoMs: e.atMono,
        time: new Date().toISOString(),
        payload: e.payload as Record<string, unknown>,
      });
      checker.check(JSON.parse(JSON.stringify(envelope)));
    };
    for (const [seed, faults] of [
      [11, STRESS_FAULTS],
      [12, ALL_FAULTS],
    ] as const) {
      runLineSim({
        model: modelOptions({ seed, parcels: 6000, faults, weightKg: WEIGHTS }),
        engine: fullRulesLine(),
        onEvent: check,
      });
    }
    expect(checker.report()).toBe('');
    // the soak reaches the line's main event types (a smaller list means the check went blind)
    for (const t of ['parcel.decided', 'ct.verdict', 'alarm.device-lost', 'line.state'])
      expect(checker.checkedTypes.get(t) ?? 0, t).toBeGreaterThan(0);
    expect(checker.checkedTypes.size).toBeGreaterThan(15);
  });

  it('rejects a payload that drifted from its schema, and an event type with no schema', () => {
    const checker = new ContractChecker();
    const base = {
      schema: 1,
      id: '01890000-0000-7000-8000-000000000000',
      stream: 'events',
      seq: 1,
      gatewayId: 'g',
      parcelId: null,
      monoMs: 1,
      time: new Date().toISOString(),
    };
    expect(
      checker.check({
        ...base,
        type: 'parcel.identified',
        payload: { deviceId: 's', code: 'RD1' },
      }),
    ).toBe(true);
    expect(
      checker.check({ ...base, type: 'parcel.identified', payload: { deviceId: 's', code: 7 } }),
    ).toBe(false);
    expect(
      checker.check({
        ...base,
        type: 'parcel.identified',
        payload: { deviceId: 's', code: 'x', extra: 1 },
      }),
    ).toBe(false);
    expect(checker.check({ ...base, type: 'ct.brand_new', payload: {} })).toBe(false);
    expect(checker.report()).toContain('ct.brand_new');
    expect(Object.keys(EVENT_PAYLOADS)).toContain('parcel.decided');
  });
});
