import type { GatesConfig } from '../../config/schema.js';
import { EdgeError } from '../errors.js';
import type { ControllerSettings, InputSpec, OutputSpec } from './protocol.js';

/**
 * From the `gates:` configuration to what the controller drives: gates, the stack light's lamps
 * (ids light-green, light-red, light-amber, light-white, light-blue), the beacon and the
 * hardware watchdog output, plus inputs. Checks what the schema cannot (duplicate pins,
 * hold-while-present without a presence photo-eye...).
 */

/** domain.md: green cleared, red alarmed, amber unknown, white communication error, blue fail-safe */
export const STACK_LIGHT_COLOURS = ['green', 'red', 'amber', 'white', 'blue'] as const;
export type StackLightColour = (typeof STACK_LIGHT_COLOURS)[number];
export const lampId = (colour: StackLightColour): string => `light-${colour}`;
export const BEACON_ID = 'beacon';
export const WATCHDOG_ID = 'watchdog';

export function outputSpecs(gates: GatesConfig): OutputSpec[] {
  const specs: OutputSpec[] = gates.outputs.map((o) => ({
    id: o.id,
    kind: 'gate',
    pin: o.pin,
    activeLow: o.activeLow,
    safeValue: o.safeValue,
    mode: o.mode,
    pulseMs: o.pulseMs,
    maxHoldMs: o.maxHoldMs,
    ...(o.presenceInput ? { presenceInput: o.presenceInput } : {}),
    periodMs: 0,
  }));
  const plain = { mode: 'hold' as const, pulseMs: 0, maxHoldMs: 0, periodMs: 0 };
  for (const colour of STACK_LIGHT_COLOURS) {
    const lamp = gates.stackLight[colour];
    if (lamp) specs.push({ ...plain, id: lampId(colour), kind: 'lamp', ...lamp });
  }
  if (gates.beacon) {
    const { flashMs, ...b } = gates.beacon;
    specs.push({ ...plain, id: BEACON_ID, kind: 'beacon', ...b, periodMs: flashMs });
  }
  if (gates.watchdogOutput) {
    const { toggleMs, ...w } = gates.watchdogOutput;
    specs.push({
      ...plain,
      id: WATCHDOG_ID,
      kind: 'watchdog',
      ...w,
      safeValue: 0,
      periodMs: toggleMs,
    });
  }
  return specs;
}

export function inputSpecs(gates: GatesConfig): InputSpec[] {
  return gates.inputs.map((i) => ({
    id: i.id,
    pin: i.pin,
    role: i.role,
    activeLow: i.activeLow,
    debounceMs: i.debounceMs,
    reportIntervalMs: i.reportIntervalMs,
    ...(i.lane ? { lane: i.lane } : {}),
  }));
}

export interface GatesIssue {
  path: string;
  message: string;
}

export function validateGates(gates: GatesConfig): GatesIssue[] {
  const issues: GatesIssue[] = [];
  const outputs = outputSpecs(gates);
  const pins = new Map<number, string>();
  const ids = new Set<string>();
  const claim = (pin: number, id: string, path: string) => {
    const other = pins.get(pin);
    if (other) issues.push({ path, message: `BCM pin ${pin} is already used by '${other}'` });
    else pins.set(pin, id);
    if (ids.has(id)) issues.push({ path, message: `duplicate id '${id}'` });
    ids.add(id);
  };
  outputs.forEach((o) => claim(o.pin, o.id, `/gates/${o.kind === 'gate' ? 'outputs' : o.id}`));
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

export function controllerSettingsFrom(
  gates: GatesConfig,
  options: { reportWrites?: boolean } = {},
): ControllerSettings {
  const issues = validateGates(gates);
  if (issues.length > 0)
    throw new EdgeError(
      'EDGE_GPIO_CONFIG',
      `gates configuration: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      { details: issues },
    );
  return {
    binding: gates.binding,
    sysfsRoot: gates.sysfsRoot,
    ...(gates.chipLabel ? { chipLabel: gates.chipLabel } : {}),
    outputs: outputSpecs(gates),
    inputs: inputSpecs(gates),
    heartbeatIntervalMs: gates.heartbeatIntervalMs,
    safeStateAfterMs: gates.safeStateAfterMs,
    spinBeforeMs: gates.spinBeforeMs,
    maxLateMs: gates.maxLateMs,
    nice: gates.controllerNice,
    reportWrites: options.reportWrites ?? false,
  };
}
