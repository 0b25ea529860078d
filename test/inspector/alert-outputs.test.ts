import { describe, expect, it } from 'vitest';
import { AlertOutputs, type LightOutputs } from '../../edge/inspector/alert-outputs.js';
import type { Flag } from '../../edge/inspector/model.js';
import { gatesConfigIssues } from '../../config/gate-checks.js';
import { outputSpecs } from '../../edge/gate/settings.js';
import { StackLight } from '../../edge/gate/stack-light.js';
import { silentLogger } from '../../edge/log.js';
import { exampleConfig } from './rig.js';

/** Alerts on the line's outputs: an indicator lamp per rule, or the beacon shared with the stack light. */
class FakeLights implements LightOutputs {
  readonly writes: [string, boolean][] = [];
  constructor(private readonly kinds: Record<string, string>) {}
  outputKind(id: string) {
    return this.kinds[id];
  }
  setLight(output: string, on: boolean) {
    this.writes.push([output, on]);
  }
}

const flag = (reasons: string[]) => ({ reasons }) as unknown as Flag;

describe('inspector alert outputs', () => {
  it('holds an indicator on while an unacknowledged alert of its reasons waits; writes only changes', () => {
    const lights = new FakeLights({ 'lamp-suspect': 'lamp', 'gate-pass': 'gate' });
    const alerts = new AlertOutputs(
      [
        { output: 'lamp-suspect', reasons: ['ct-suspect', 'escaped'] },
        { output: 'beacon', reasons: ['targeting'] },
        { output: 'gate-pass', reasons: ['ct-suspect'] },
      ],
      () => lights,
      silentLogger(),
    );
    alerts.update([]);
    alerts.update([flag(['ct-suspect'])]);
    alerts.update([flag(['ct-suspect']), flag(['verdict-missing'])]);
    expect(alerts.beaconWanted).toBe(false);
    alerts.update([flag(['targeting'])]);
    expect(alerts.beaconWanted).toBe(true);
    alerts.update([]);
    // a gate output is never driven as an alert (only indicator lamps)
    expect(lights.writes).toEqual([
      ['lamp-suspect', false],
      ['lamp-suspect', true],
      ['lamp-suspect', false],
    ]);
    alerts.reset();
    alerts.update([]);
    expect(lights.writes.at(-1)).toEqual(['lamp-suspect', false]);
  });

  it('the stack light ORs the inspector beacon with its own alarm beacon', () => {
    const lights = new FakeLights({ beacon: 'beacon' });
    const stack = new StackLight(() => lights);
    const calm = { failSafe: null, commError: null, alarm: null, unknown: null };
    stack.update(calm);
    stack.update(calm, true);
    expect(stack.current?.beacon).toBe(true);
    stack.update(calm, false);
    expect(lights.writes).toEqual([
      ['beacon', false],
      ['beacon', true],
      ['beacon', false],
    ]);
  });

  it('gates.indicators are lamp outputs of the gate controller; their pins are checked like any', () => {
    const gates = exampleConfig('/tmp/unused').gates;
    const withLamp = {
      ...gates,
      indicators: [{ id: 'lamp-suspect', pin: 4, activeLow: false, safeValue: 0 as const }],
    };
    expect(outputSpecs(withLamp).find((o) => o.id === 'lamp-suspect')).toMatchObject({
      kind: 'lamp',
      pin: 4,
    });
    expect(gatesConfigIssues(withLamp)).toEqual([]);
    const clash = {
      ...gates,
      indicators: [{ id: 'lamp-x', pin: 17, activeLow: false, safeValue: 0 as const }],
    };
    expect(gatesConfigIssues(clash).map((i) => i.message)).toContainEqual(
      expect.stringMatching(/BCM pin 17 is already used/),
    );
  });
});
