import {
  BEACON_ID,
  gatesConfigIssues,
  lampId,
  STACK_LIGHT_COLOURS,
  WATCHDOG_ID,
} from '../../config/gate-checks.js';
import type { GatesConfig } from '../../config/schema.js';
import { EdgeError } from '../errors.js';
import type { ControllerSettings, InputSpec, OutputSpec } from './protocol.js';

/**
 * From the `gates:` configuration to what the controller drives: gates, the stack light's lamps
 * (ids light-green, light-red, light-amber, light-white, light-blue), the beacon and the
 * hardware watchdog output, plus inputs. The cross-field checks live with the configuration
 * (config/gate-checks.ts); a configuration that fails them is refused here too.
 */

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
  // indicator lamps (inspector alert outputs): switched on and off like the stack light
  for (const lamp of gates.indicators ?? []) specs.push({ ...plain, kind: 'lamp', ...lamp });
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

export function controllerSettingsFrom(
  gates: GatesConfig,
  options: { reportWrites?: boolean } = {},
): ControllerSettings {
  const issues = gatesConfigIssues(gates);
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
