import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { isEdgeError } from '../../edge/errors.js';

/** Fail-safe configuration rejection: every config that could pass an unsafe parcel is refused. */
const example = readFileSync(
  new URL('../../config/examples/simulated-line.yaml', import.meta.url),
  'utf8',
);
function issues(mutate: (doc: Record<string, any>) => void): { path: string; message: string }[] {
  const doc = parse(example) as Record<string, any>;
  mutate(doc);
  try {
    new ConfigValidator(driverKindSchemas()).parse(doc);
    return [];
  } catch (err) {
    if (!isEdgeError(err, 'EDGE_CONFIG_INVALID')) throw err;
    return err.details as { path: string; message: string }[];
  }
}

describe('line configuration (fail-safe)', () => {
  it('the example is valid', () => {
    expect(issues(() => {})).toEqual([]);
  });

  it('a safety rule cannot be removed, nor ordered after a rule that diverts elsewhere', () => {
    const removed = issues((d) => {
      d.line.rules.order = [
        'tracking',
        'device-lost',
        'ct-unknown',
        'targeting',
        'ct-verdict-timeout',
        'no-read',
      ];
    });
    expect(removed).toContainEqual({
      path: '/line/rules/order',
      message: expect.stringMatching(/fail-safe: rule 'ct-suspect' is required/),
    });
    const demoted = issues((d) => {
      d.line.rules.order = [
        'tracking',
        'device-lost',
        'no-read',
        'ct-suspect',
        'ct-unknown',
        'targeting',
        'ct-verdict-timeout',
      ];
    });
    expect(demoted.map((i) => i.message).join('\n')).toMatch(
      /safety rule 'ct-suspect' must come before 'no-read'/,
    );
  });

  it('an unknown rule id, an inspection lane with a gate, or one gate for two lanes is rejected', () => {
    expect(issues((d) => d.line.rules.order.push('always-pass')).length).toBeGreaterThan(0);
    expect(issues((d) => (d.line.lanes.exception.gate = 'gate-pass'))).toContainEqual({
      path: '/line/lanes/exception/gate',
      message: "fail-safe: gate 'gate-pass' diverts both pass and exception",
    });
  });

  it('the CT verdict time must fit the CT-to-diverter distance at the maximum speed, with the numbers', () => {
    const tooFast = issues((d) => {
      d.line.ct.verdictTimeMs = 3000;
      d.line.tracking.maxSpeedMmPerS = 2000;
    });
    // (7000 - 2000 - 400) mm at 2000 mm/s = 2300 ms, minus 50 + 300 -> 1950 ms < 3000 ms
    expect(tooFast).toEqual([
      {
        path: '/line/ct/positionMm',
        message: expect.stringMatching(
          /CT at 2000 mm, first diverter at 7000 mm.*2000 mm\/s.*leave 1950 ms, the CT needs 3000 ms/,
        ),
      },
    ]);
    expect(issues((d) => (d.line.ct.verdictTimeMs = 3000))).toEqual([]);
  });

  it('PLC hand-off lanes need a PLC destination; customs outlets must exist and come before the end', () => {
    expect(issues((d) => (d.line.lanes.pass.gateMode = 'plc'))).toContainEqual({
      path: '/line/lanes/pass/plc',
      message: expect.stringMatching(/gateMode plc needs plc/),
    });
    // a PLC lane alone: the inspection lane must be handed off too, to a PLC that exists
    // (test/config/sorter-config.test.ts has the sorter layouts)
    expect(
      issues((d) => {
        d.line.lanes.pass = {
          gate: 'div-3',
          positionMm: 8000,
          gateMode: 'plc',
          plc: { plcId: 'sorter', destination: 3 },
        };
      }).map((i) => i.path),
    ).toEqual(['/line/lanes/inspection', '/line/lanes/pass/plc/plcId']);
    const outlets = issues((d) => {
      d.line.outlets = [{ id: 'pass-1210', gate: 'gate-1210', positionMm: 9500 }];
      d.line.rules.customsModes = [{ mode: '1210', pattern: '^JD', outlet: 'bonded' }];
    });
    expect(outlets.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        '/line/outlets/0/gate',
        '/line/lanes/inspection/positionMm',
        '/line/rules/customsModes/0/outlet',
      ]),
    );
  });

  it('a weight rule needs a scale; encoder tracking needs its encoder', () => {
    expect(issues((d) => (d.line.rules.weight = { minKg: 0.1, maxKg: 30 }))).toContainEqual({
      path: '/line/rules/weight',
      message: 'a weight rule needs /line/scale',
    });
    expect(issues((d) => (d.line.tracking = { mode: 'encoder' }))).toContainEqual({
      path: '/line/tracking',
      message: 'encoder tracking needs encoderId and mmPerCount',
    });
  });
});
