import {
  BEACON_ID,
  lampId,
  STACK_LIGHT_COLOURS,
  type StackLightColour,
} from '../../config/gate-checks.js';

/**
 * The line's stack light (domain.md, one airport standard): green cleared, red alarmed, amber
 * unknown, white communication error, blue fail-safe mode. `stackLightFor` is pure: the line's
 * condition in, lamps out. `StackLight` applies it to the gate controller's lamp outputs,
 * writing only changes.
 */
export interface LineCondition {
  /** parcels are being sent to inspection because something failed (CT or scanner link lost, gates safe) */
  failSafe: string | null;
  /** a device driver or the uplink is not running */
  commError: string | null;
  /** an alarm was raised recently (missort, unconfirmed divert, escaped parcel, outbox quota) */
  alarm: string | null;
  /** tracking is uncertain: E-stop, jam or stop with parcels marked unknown */
  unknown: string | null;
}

export type Lamps = Record<StackLightColour, boolean> & { beacon: boolean };

export function stackLightFor(c: LineCondition): Lamps {
  const lamps: Lamps = {
    green: false,
    red: false,
    amber: false,
    white: false,
    blue: false,
    beacon: false,
  };
  if (c.failSafe) lamps.blue = true;
  if (c.commError) lamps.white = true;
  if (c.alarm) lamps.red = lamps.beacon = true;
  if (c.unknown) lamps.amber = true;
  if (!c.failSafe && !c.commError && !c.alarm && !c.unknown) lamps.green = true;
  return lamps;
}

export interface LampOutputs {
  outputKind(id: string): string | undefined;
  setLight(output: string, on: boolean): void;
}

export class StackLight {
  private last: Partial<Record<string, boolean>> = {};
  current: Lamps | null = null;
  condition: LineCondition | null = null;

  constructor(private readonly outputs: () => LampOutputs | null) {}

  /**
   * Apply the lamps for `condition`; returns the outputs that changed. `beaconAlso`: another
   * part wants the beacon on too (an unacknowledged inspector alert, inspector.alertOutputs).
   */
  update(condition: LineCondition, beaconAlso = false): string[] {
    const lamps = stackLightFor(condition);
    if (beaconAlso) lamps.beacon = true;
    this.current = lamps;
    this.condition = condition;
    const target = this.outputs();
    if (!target) return [];
    const changed: string[] = [];
    const wanted: [string, boolean][] = [
      ...STACK_LIGHT_COLOURS.map((c): [string, boolean] => [lampId(c), lamps[c]]),
      [BEACON_ID, lamps.beacon],
    ];
    for (const [id, on] of wanted) {
      if (target.outputKind(id) === undefined || this.last[id] === on) continue;
      target.setLight(id, on);
      this.last[id] = on;
      changed.push(id);
    }
    return changed;
  }

  /** Forget what was written (a restarted controller starts from its safe values). */
  reset(): void {
    this.last = {};
  }
}
