import { EdgeError } from '../errors.js';
import type { GateLink } from './gate-link.js';

/**
 * The one interlock for moving an output by hand: a technician's jog (HTTP) and the platform's
 * gate-test command. A jog is refused
 * - while the line runs, unless it is in maintenance mode (key switch or API);
 * - for a gate, while the E-stop is pressed;
 * - for firing a gate on a running belt (maintenance), while the engine tracks any parcel: a
 *   gate moved by hand could divert that parcel, a suspect one into the pass lane.
 * Lamps and the beacon only need the first rule. Throws EDGE_GPIO_JOG_REFUSED with the reason.
 */

export interface LineForJog {
  /** the engine's view: the belt runs (the controller's run input counts too) */
  running: boolean;
  /** parcels the engine tracks on the belt now */
  parcelsOnBelt: number;
}

export type JogOutputKind = 'gate' | 'lamp' | 'beacon';

export function assertJogAllowed(
  link: GateLink | null,
  output: string,
  kind: JogOutputKind,
  line: LineForJog,
  action: 'fire' | 'release' = 'fire',
): GateLink {
  if (!link) throw new EdgeError('EDGE_GATE_CONTROLLER_DOWN', 'no gate controller configured');
  const actual = link.outputKind(output);
  if (actual === undefined || (kind === 'gate') !== (actual === 'gate'))
    throw new EdgeError('EDGE_GATE_UNKNOWN_OUTPUT', `no ${kind} output '${output}'`);
  const running = lineRunning(link, line);
  if (running && !link.maintenance) {
    throw new EdgeError(
      'EDGE_GPIO_JOG_REFUSED',
      'the line is running: stop it or switch to maintenance mode first',
    );
  }
  if (kind !== 'gate') return link;
  if (link.estop) throw new EdgeError('EDGE_GPIO_JOG_REFUSED', 'the E-stop is pressed');
  if (action === 'fire' && running && line.parcelsOnBelt > 0) {
    throw new EdgeError(
      'EDGE_GPIO_JOG_REFUSED',
      `${line.parcelsOnBelt} parcel(s) tracked on the running belt: a gate moved now could divert one; wait until the belt is clear or stop the line`,
    );
  }
  return link;
}

export function lineRunning(link: GateLink, line: LineForJog): boolean {
  return line.running || link.lineRunning === true;
}

/** The platform's gate-test command: the same interlock as a technician's gate jog. */
export function assertGateTestAllowed(
  link: GateLink | null,
  gateId: string,
  line: LineForJog,
): GateLink {
  return assertJogAllowed(link, gateId, 'gate', line);
}
