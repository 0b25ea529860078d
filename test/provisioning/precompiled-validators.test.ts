import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigValidator, resolveSecrets } from '../../config/loader.js';
import type { PrecompiledConfigValidators } from '../../config/precompiled-validators.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { configValidatorsModule } from '../../provisioning/config-validators.js';

/**
 * The bundle's ahead-of-time configuration validators answer exactly as the ones Ajv compiles
 * at start-up: the same issues for broken documents, the same defaults filled into valid ones.
 */
const root = new URL('../../', import.meta.url).pathname;
const dir = join(root, '.tmp', `precompiled-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function example(name: string): Record<string, any> {
  const doc = parse(readFileSync(join(root, 'config/examples', `${name}.yaml`), 'utf8'));
  return resolveSecrets(doc, { env: {}, readFile: () => '' }).doc as Record<string, any>;
}

const broken: Array<[string, (d: Record<string, any>) => void]> = [
  ['no gateway id', (d) => delete d.gateway.id],
  ['negative belt speed', (d) => (d.line.beltSpeedMmPerS = -1)],
  ['unknown property', (d) => (d.uplink.colour = 'blue')],
  ['bad driver field', (d) => (d.drivers[0].parcelsPerMinute = 'many')],
  ['unknown driver kind', (d) => d.drivers.push({ id: 'x', kind: 'teleporter' })],
  [
    'serial port without path',
    (d) => d.drivers.push({ id: 's', kind: 'serial-barcode', port: {} }),
  ],
  ['opcua without servers', (d) => d.drivers.push({ id: 'o', kind: 'opcua' })],
  ['gate pin twice', (d) => d.gates.outputs.push({ id: 'dup-a', pin: 5 }, { id: 'dup-b', pin: 5 })],
];

describe('precompiled configuration validators (production bundle)', () => {
  it('give the same issues and defaults as the compiled ones', async () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'validators.mjs');
    writeFileSync(file, await configValidatorsModule());
    const { PRECOMPILED_CONFIG_VALIDATORS: precompiled } = (await import(
      pathToFileURL(file).href
    )) as { PRECOMPILED_CONFIG_VALIDATORS: PrecompiledConfigValidators };
    const kinds = driverKindSchemas();
    expect(Object.keys(precompiled.kinds).sort()).toEqual([...kinds.keys()].sort());
    const compiled = new ConfigValidator(kinds);
    const ahead = new ConfigValidator(kinds, precompiled);
    let compared = 0;
    for (const name of ['simulated-line', 'serial-line', 'opcua-line']) {
      for (const [what, breakIt] of [['as shipped', () => undefined] as const, ...broken]) {
        const a = example(name);
        breakIt(a);
        const b = structuredClone(a);
        const issuesA = compiled.check(a);
        expect(ahead.check(b), `${name}, ${what}`).toEqual(issuesA);
        expect(b, `${name}, ${what}: defaults`).toEqual(a);
        if (what !== 'as shipped') expect(issuesA.length, `${name}, ${what}`).toBeGreaterThan(0);
        compared++;
      }
    }
    expect(compared).toBe(27);
  }, 60_000);
});
