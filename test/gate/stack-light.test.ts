import { describe, expect, it } from 'vitest';
import { StackLight, stackLightFor, type LineCondition } from '../../edge/gate/stack-light.js';

const ok: LineCondition = { failSafe: null, commError: null, alarm: null, unknown: null };

describe('stack light', () => {
  it('green only when nothing is wrong; each condition has its colour', () => {
    expect(stackLightFor(ok)).toMatchObject({
      green: true,
      red: false,
      amber: false,
      white: false,
      blue: false,
      beacon: false,
    });
    expect(stackLightFor({ ...ok, failSafe: 'CT link lost' })).toMatchObject({
      green: false,
      blue: true,
    });
    expect(stackLightFor({ ...ok, commError: 'scanner-1 degraded' })).toMatchObject({
      green: false,
      white: true,
    });
    expect(stackLightFor({ ...ok, alarm: 'missort' })).toMatchObject({
      green: false,
      red: true,
      beacon: true,
    });
    expect(stackLightFor({ ...ok, unknown: 'E-stop' })).toMatchObject({
      green: false,
      amber: true,
    });
    expect(
      stackLightFor({ failSafe: 'a', commError: 'b', alarm: 'c', unknown: 'd' }),
    ).toMatchObject({ green: false, red: true, amber: true, white: true, blue: true });
  });

  it('writes only the configured lamps, and only when they change', () => {
    const writes: [string, boolean][] = [];
    const outputs = {
      outputKind: (id: string) =>
        ['light-green', 'light-red', 'beacon'].includes(id) ? 'lamp' : undefined,
      setLight: (id: string, on: boolean) => writes.push([id, on]),
    };
    const light = new StackLight(() => outputs);
    light.update(ok);
    expect(writes).toEqual([
      ['light-green', true],
      ['light-red', false],
      ['beacon', false],
    ]);
    writes.length = 0;
    light.update(ok);
    expect(writes).toEqual([]);
    light.update({ ...ok, alarm: 'missort' });
    expect(writes).toEqual([
      ['light-green', false],
      ['light-red', true],
      ['beacon', true],
    ]);
    writes.length = 0;
    light.reset();
    light.update({ ...ok, alarm: 'missort' });
    expect(writes).toHaveLength(3);
  });
});
