import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { isEdgeError } from '../../edge/errors.js';

/**
 * Sorter PLC layouts: one decision point serving every destination is a first-class layout;
 * every parcel is handed off (inspection included) unless turned off explicitly; each PLC lane
 * names an OPC UA server with a decision output, and its destination code fits the PLC's type.
 */
const example = readFileSync(
  new URL('../../config/examples/opcua-line.yaml', import.meta.url),
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
const decision = (d: Record<string, any>) =>
  d.drivers[0].servers[0].outputs.find((o: { kind: string }) => o.kind === 'decision');

describe('sorter PLC configuration', () => {
  it('the example (one decision point for inspection, exception and pass) is valid', () => {
    expect(issues(() => {})).toEqual([]);
  });

  it('lanes share a decision point only on one PLC at one position; GPIO gates never', () => {
    expect(issues((d) => (d.line.lanes.pass.positionMm = 7500)).map((i) => i.path)).toContain(
      '/line/lanes/exception/gate',
    );
    const gpio = issues((d) => {
      d.gates.outputs = [{ id: 'g1', pin: 17, pulseMs: 300 }];
      d.line.lanes.pass = { gate: 'g1', positionMm: 7000 };
      d.line.lanes.exception = { gate: 'g1', positionMm: 7000 };
    });
    expect(gpio).toContainEqual({
      path: '/line/lanes/exception/gate',
      message: expect.stringMatching(/fail-safe: gate 'g1' diverts both/),
    });
  });

  it('every parcel is handed off: the inspection lane must be a PLC destination (or the choice made explicitly)', () => {
    const straight = (d: Record<string, any>) => {
      d.line.lanes.inspection = { positionMm: 9000 };
    };
    expect(issues(straight)).toContainEqual({
      path: '/line/lanes/inspection',
      message: expect.stringMatching(/handOffEveryParcel/),
    });
    expect(
      issues((d) => {
        straight(d);
        d.line.handOffEveryParcel = false;
      }),
    ).toEqual([]);
  });

  it('a PLC lane names a server with a decision output; destination codes fit its type; a tracking-id key needs its signal', () => {
    expect(issues((d) => (d.line.lanes.pass.plc.plcId = 'nowhere'))).toContainEqual({
      path: '/line/lanes/pass/plc/plcId',
      message: expect.stringMatching(/no OPC UA server 'nowhere'/),
    });
    expect(
      issues((d) => {
        decision(d).destinationType = 'Int16';
        d.line.lanes.pass.plc.destination = 40_000;
      }),
    ).toContainEqual({
      path: '/line/lanes/pass/plc/destination',
      message: expect.stringMatching(/does not fit the PLC's Int16/),
    });
    expect(
      issues((d) => {
        d.drivers[0].servers[0].signals = d.drivers[0].servers[0].signals.filter(
          (s: { kind: string }) => s.kind !== 'trackingId',
        );
      }).map((i) => i.message),
    ).toContainEqual(
      expect.stringMatching(/keyed by plcTrackingId, but the server has no trackingId signal/),
    );
  });
});
