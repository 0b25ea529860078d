import { EdgeError } from '../errors.js';
import type { GateLink } from './gate-link.js';

/**
 * The interlock for a gate test requested from outside the HTTP jog API (the platform's
 * gate-test command): the same conditions as a technician's jog. Throws when not allowed now.
 */
export function assertGateTestAllowed(
  link: GateLink | null,
  gateId: string,
  engineLineRunning: boolean,
): GateLink {
  if (!link) throw new EdgeError('EDGE_GATE_CONTROLLER_DOWN', 'no gate controller configured');
  if (link.outputKind(gateId) !== 'gate')
    throw new EdgeError('EDGE_GATE_UNKNOWN_OUTPUT', `no gate output '${gateId}'`);
  if ((engineLineRunning || link.lineRunning === true) && !link.maintenance) {
    throw new EdgeError(
      'EDGE_GPIO_JOG_REFUSED',
      'the line is running: stop it or switch to maintenance mode first',
    );
  }
  if (link.estop) throw new EdgeError('EDGE_GPIO_JOG_REFUSED', 'the E-stop is pressed');
  return link;
}
