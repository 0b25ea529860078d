import type { LineSignal } from '../../drivers/driver.js';
import type { InputSpec } from './protocol.js';

/**
 * What a debounced GPIO edge means to the line engine. The input id is the signal's deviceId.
 * - photoEye: leading edge (beam blocked, 1) / trailing edge (beam cleared, 0)
 * - laneConfirm: the leading edge confirms a divert into its lane
 * - estop: pressed -> lineState estop; released -> stopped (the line needs its restart)
 * - running: the PLC's / drive's run signal -> running / stopped
 * - maintenance: a key switch, no engine signal (the jog API reads it)
 * - encoder: counts are sent separately (see encoderSignal)
 */
export function signalForEdge(spec: InputSpec, value: 0 | 1, atMono: number): LineSignal | null {
  const deviceId = spec.id;
  switch (spec.role) {
    case 'photoEye':
      return { type: 'photoEye', deviceId, atMono, edge: value === 1 ? 'leading' : 'trailing' };
    case 'laneConfirm':
      return value === 1 && spec.lane
        ? { type: 'laneConfirm', deviceId, atMono, lane: spec.lane }
        : null;
    case 'estop':
      return value === 1
        ? { type: 'lineState', deviceId, atMono, state: 'estop', reason: 'E-stop pressed' }
        : { type: 'lineState', deviceId, atMono, state: 'stopped', reason: 'E-stop released' };
    case 'running':
      return { type: 'lineState', deviceId, atMono, state: value === 1 ? 'running' : 'stopped' };
    case 'maintenance':
    case 'encoder':
      return null;
  }
}

export function encoderSignal(deviceId: string, count: number, atMono: number): LineSignal {
  return { type: 'encoder', deviceId, atMono, count };
}
