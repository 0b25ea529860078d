import type { Logger } from 'pino';
import type { InspectorConfig } from '../../config/inspector-schema.js';
import type { Flag } from './model.js';

/**
 * Alerts on the line's outputs (`inspector.alertOutputs`): each configured output is held on
 * while an open queue entry with one of its reasons has an unacknowledged alert. The beacon is
 * shared with the stack light (which flashes it on line alarms): for it this only says whether
 * the inspector wants it on, and the stack light ORs that in. Any other output must be a
 * `gates.indicators` lamp, switched here through the gate controller on each change.
 */

export const BEACON = 'beacon';

export interface LightOutputs {
  outputKind(id: string): string | undefined;
  setLight(output: string, on: boolean): void;
}

export class AlertOutputs {
  private readonly written = new Map<string, boolean>();
  private beacon = false;
  private warned = new Set<string>();

  constructor(
    private readonly config: InspectorConfig['alertOutputs'],
    private readonly outputs: () => LightOutputs | null,
    private readonly log: Logger,
  ) {}

  /** Recompute from the unacknowledged alerts and switch what changed. */
  update(pending: readonly Flag[]): void {
    const wanted = new Map<string, boolean>();
    for (const a of this.config) {
      const on = pending.some((f) => f.reasons.some((r) => a.reasons.includes(r)));
      wanted.set(a.output, (wanted.get(a.output) ?? false) || on);
    }
    this.beacon = wanted.get(BEACON) ?? false;
    wanted.delete(BEACON);
    const target = this.outputs();
    if (!target) return;
    for (const [id, on] of wanted) {
      if (this.written.get(id) === on) continue;
      const kind = target.outputKind(id);
      if (kind !== 'lamp') {
        if (!this.warned.has(id)) {
          this.warned.add(id);
          this.log.warn(
            { output: id, kind: kind ?? null },
            'inspector alert output is not an indicator lamp',
          );
        }
        continue;
      }
      target.setLight(id, on);
      this.written.set(id, on);
    }
  }

  /** Whether the inspector wants the beacon on (the stack light ORs it with line alarms). */
  get beaconWanted(): boolean {
    return this.beacon;
  }

  /** The gate controller restarted: outputs start from their safe values again. */
  reset(): void {
    this.written.clear();
  }
}
