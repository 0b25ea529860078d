import type { GatesConfig } from './gates-schema.js';

/**
 * Cross-field checks of the `gates:` section that the schema cannot express: duplicate pins and
 * ids, presence inputs, input roles, a diverting gate's safe value. Also the names of the controller's non-gate outputs (stack
 * light lamps, beacon, watchdog), which the gate controller and the HTTP routes use as ids.
 */

/** domain.md: green cleared, red alarmed, amber unknown, white communication error, blue fail-safe */
export const STACK_LIGHT_COLOURS = ['green', 'red', 'amber', 'white', 'blue'] as const;
export type StackLightColour = (typeof STACK_LIGHT_COLOURS)[number];
export const lampId = (colour: StackLightColour): string => `light-${colour}`;
export const BEACON_ID = 'beacon';
export const WATCHDOG_ID = 'watchdog';

export interface GatesIssue {
  path: string;
  message: string;
}

/** Every output the controller drives, with its id, pin and the config path it comes from. */
function outputPins(gates: GatesConfig): { id: string; pin: number; path: string }[] {
  const pins = gates.outputs.map((o) => ({ id: o.id, pin: o.pin, path: '/gates/outputs' }));
  for (const colour of STACK_LIGHT_COLOURS) {
    const lamp = gates.stackLight[colour];
    if (lamp) pins.push({ id: lampId(colour), pin: lamp.pin, path: `/gates/${lampId(colour)}` });
  }
  // indicator lamps (inspector alert outputs)
  (gates.indicators ?? []).forEach((lamp, n) =>
    pins.push({ id: lamp.id, pin: lamp.pin, path: `/gates/indicators/${n}` }),
  );
  if (gates.beacon)
    pins.push({ id: BEACON_ID, pin: gates.beacon.pin, path: `/gates/${BEACON_ID}` });
  if (gates.watchdogOutput)
    pins.push({ id: WATCHDOG_ID, pin: gates.watchdogOutput.pin, path: `/gates/${WATCHDOG_ID}` });
  return pins;
}

export function gatesConfigIssues(gates: GatesConfig): GatesIssue[] {
  const issues: GatesIssue[] = [];
  const pins = new Map<number, string>();
  const ids = new Set<string>();
  const claim = (pin: number, id: string, path: string) => {
    const other = pins.get(pin);
    if (other) issues.push({ path, message: `BCM pin ${pin} is already used by '${other}'` });
    else pins.set(pin, id);
    if (ids.has(id)) issues.push({ path, message: `duplicate id '${id}'` });
    ids.add(id);
  };
  outputPins(gates).forEach((o) => claim(o.pin, o.id, o.path));
  gates.inputs.forEach((i, n) => claim(i.pin, i.id, `/gates/inputs/${n}`));
  const photoEyes = new Set(gates.inputs.filter((i) => i.role === 'photoEye').map((i) => i.id));
  gates.outputs.forEach((o, n) => {
    // a gate output is a diverter: in the safe state it must let parcels go straight on
    if (o.safeValue !== 0)
      issues.push({
        path: `/gates/outputs/${n}/safeValue`,
        message: `gate '${o.id}' would divert in its safe state: safeValue must be 0 (use activeLow for the wiring's polarity)`,
      });
    if (o.mode === 'hold-while-present' && !o.presenceInput)
      issues.push({
        path: `/gates/outputs/${n}/presenceInput`,
        message: 'hold-while-present needs a presenceInput (a photoEye input at this gate)',
      });
    if (o.presenceInput && !photoEyes.has(o.presenceInput))
      issues.push({
        path: `/gates/outputs/${n}/presenceInput`,
        message: `no photoEye input '${o.presenceInput}' in /gates/inputs`,
      });
  });
  gates.inputs.forEach((i, n) => {
    if (i.role === 'laneConfirm' && !i.lane)
      issues.push({
        path: `/gates/inputs/${n}/lane`,
        message: 'a laneConfirm input needs its lane',
      });
  });
  for (const role of ['estop', 'running', 'maintenance', 'encoder'] as const) {
    if (gates.inputs.filter((i) => i.role === role).length > 1)
      issues.push({ path: '/gates/inputs', message: `more than one '${role}' input` });
  }
  return issues;
}
