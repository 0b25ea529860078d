import { EdgeError } from '../errors.js';
import type { GateLink } from './gate-link.js';

/**
 * The one interlock for moving an output by hand: a technician's jog (HTTP) and the platform's
 * gate-test command. The inspection lane is the straight-through end of the belt, so a gate
 * fired by hand is the one way a parcel reaches the pass lane without the engine deciding it.
 *
 * Firing a gate is refused
 * - without a line engine (mid-restart): nothing knows what is on the belt (fail closed);
 * - while the engine tracks a parcel that has not passed that gate, whatever the line state and
 *   maintenance mode: a pusher fired at a parcel standing in front of it on a stopped belt
 *   sends it to that lane (GateLink.jogFire checks this too, for any caller);
 * - while the belt may move, unless the line is in maintenance mode (key switch or API). The
 *   belt may move in every engine line state except an explicit 'stopped' (an engine-detected
 *   jam does not stop a belt that has no run input), or while the run input is on;
 * - while the E-stop is pressed;
 * - on a belt that may move (maintenance), while the engine tracks a parcel, or before the belt
 *   has been clear for one full transit since the last tracked parcel or the engine's start (a
 *   restart leaves the parcels that were on the belt untracked).
 * On a belt that may move, a hand fire is a short pulse (RUNNING_BELT_MAX_HOLD_MS); a longer
 * hold on a stopped line is released when the line starts or a parcel is inducted (the gateway
 * does that: GateLink.releaseHandHeld).
 * Releasing a known gate output is always allowed: it moves the gate to its safe state.
 * Lamps and the beacon cannot divert anything: refused only while the engine reports the line
 * running (or the run input is on) outside maintenance mode.
 * Throws EDGE_GPIO_JOG_REFUSED with the reason, EDGE_GATE_UNKNOWN_OUTPUT for an unknown output.
 */

/** The longest a gate is held by hand on a belt that may move (maintenance mode). */
export const RUNNING_BELT_MAX_HOLD_MS = 500;

export interface LineForJog {
  /**
   * The engine's line state ('running' | 'stopped' | 'estop' | 'jam'); null when no engine runs
   * (mid-restart), which counts as a belt that may move.
   */
  state: string | null;
  /** parcels the engine tracks on the belt now */
  parcelsOnBelt: number;
  /** tracked parcels that have not passed the gate being fired (absent: not asked for a gate) */
  parcelsBeforeGate?: number;
  /**
   * No parcel can be on the belt, tracked or not: clear for a full transit since the last
   * tracked parcel or the engine's start (LineEngine.beltClearance). False without an engine.
   */
  beltClear: boolean;
  /** why the belt is not clear yet (for the refusal message) */
  clearNote?: string;
}

export type JogOutputKind = 'gate' | 'lamp' | 'beacon';

/** What the interlock reads from the gate link: outputs, maintenance, E-stop, run input. */
export type JogLinkView = Pick<
  GateLink,
  'outputKind' | 'maintenance' | 'estop' | 'lineRunning' | 'jogDefaultMs'
>;

export function assertJogAllowed<L extends JogLinkView>(
  link: L | null,
  output: string,
  kind: JogOutputKind,
  line: LineForJog,
  action: 'fire' | 'release' = 'fire',
): L {
  if (!link) throw new EdgeError('EDGE_GATE_CONTROLLER_DOWN', 'no gate controller configured');
  const actual = link.outputKind(output);
  if (actual === undefined || (kind === 'gate') !== (actual === 'gate'))
    throw new EdgeError('EDGE_GATE_UNKNOWN_OUTPUT', `no ${kind} output '${output}'`);
  if (kind !== 'gate') {
    if ((line.state === 'running' || link.lineRunning === true) && !link.maintenance)
      throw refused('the line is running: stop it or switch to maintenance mode first');
    return link;
  }
  // to the safe state: never refused
  if (action === 'release') return link;
  if (line.state === null)
    throw refused('the line engine is not running (restarting?): gates are not moved by hand');
  const moving = lineRunning(link, line);
  if (moving && !link.maintenance) {
    throw refused(
      `the line is ${line.state === 'stopped' ? 'running' : line.state}: stop it or switch to maintenance mode first`,
    );
  }
  if (link.estop) throw refused('the E-stop is pressed');
  // stopped belt or not: a parcel in front of (or still before) the gate would be diverted
  // (not told which parcels are before this gate: every tracked one; a moving belt's are below)
  const before = line.parcelsBeforeGate ?? (moving ? 0 : line.parcelsOnBelt);
  if (before > 0) {
    throw refused(
      `${before} parcel(s) tracked that have not passed ${output}: firing it could divert one into its lane; run them off the belt first`,
    );
  }
  if (!moving) return link;
  if (line.parcelsOnBelt > 0) {
    throw refused(
      `${line.parcelsOnBelt} parcel(s) tracked on the running belt: a gate moved now could divert one; wait until the belt is clear or stop the line`,
    );
  }
  if (!line.beltClear) {
    throw refused(
      `the belt may still carry parcels the engine does not track${line.clearNote ? ` (${line.clearNote})` : ''}: wait one full belt transit or stop the line`,
    );
  }
  return link;
}

/** The belt may move: every engine line state but 'stopped' (no engine too), or the run input. */
export function lineRunning(link: JogLinkView, line: LineForJog): boolean {
  return line.state !== 'stopped' || link.lineRunning === true;
}

/**
 * How long a hand fire holds the gate: as asked (undefined: the gate's configured mode) on a
 * stopped line; on a belt that may move, the asked or configured time (a pusher's short pulse
 * stays short) but at most RUNNING_BELT_MAX_HOLD_MS.
 */
export function jogHoldMs(
  link: JogLinkView,
  line: LineForJog,
  requested: number | undefined,
  gateId: string,
): number | undefined {
  if (!lineRunning(link, line)) return requested;
  const wanted = requested ?? link.jogDefaultMs(gateId) ?? RUNNING_BELT_MAX_HOLD_MS;
  return Math.min(wanted, RUNNING_BELT_MAX_HOLD_MS);
}

/** The platform's gate-test command: the same interlock as a technician's gate jog. */
export function assertGateTestAllowed<L extends JogLinkView>(
  link: L | null,
  gateId: string,
  line: LineForJog,
): L {
  return assertJogAllowed(link, gateId, 'gate', line);
}

function refused(message: string): EdgeError {
  return new EdgeError('EDGE_GPIO_JOG_REFUSED', message);
}
