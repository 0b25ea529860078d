import type { EventHeap } from './event-heap.js';
import type { LineItem, LineModelOptions } from './line-model-types.js';
import { between, exponentialMs } from './random.js';

/**
 * The simulated line's outages: CT link losses (the CT's life bit stops, then comes back) and
 * gateway restarts, generated ahead of the verdicts they can swallow. The recent CT outages
 * are kept so a verdict due during one can be marked lost.
 */
export class LineOutages {
  private readonly next: { ct: number; restart: number };
  private faultsUntil = 0;
  private readonly outages: { from: number; to: number }[] = [];

  constructor(
    private readonly o: LineModelOptions,
    private readonly random: () => number,
    private readonly heap: EventHeap<LineItem>,
  ) {
    const f = o.faults;
    this.next = {
      ct: exponentialMs(random, f.ctLinkLossEveryS),
      restart: exponentialMs(random, f.gatewayRestartEveryS),
    };
  }

  /** Generate the outages that start up to `t`. */
  faultsTo(t: number): void {
    const f = this.o.faults;
    while (this.faultsUntil < t) {
      this.faultsUntil = Math.min(t, this.next.ct, this.next.restart);
      if (this.next.ct <= t) {
        const a = this.next.ct;
        const b = a + between(this.random, f.ctLinkLossMs.min, f.ctLinkLossMs.max);
        this.outages.push({ from: a, to: b });
        const ct = this.o.devices.ctId;
        this.heap.push(a, {
          kind: 'input',
          input: {
            type: 'deviceStatus',
            deviceId: ct,
            atMono: a,
            role: 'ct',
            ok: false,
            reason: 'life bit stopped',
          },
        });
        this.heap.push(b, {
          kind: 'input',
          input: {
            type: 'deviceStatus',
            deviceId: ct,
            atMono: b,
            role: 'ct',
            ok: true,
            reason: 'life bit back',
          },
        });
        this.next.ct = b + exponentialMs(this.random, f.ctLinkLossEveryS);
      }
      if (this.next.restart <= t) {
        const a = this.next.restart;
        const down = between(this.random, f.gatewayRestartMs.min, f.gatewayRestartMs.max);
        this.heap.push(a, { kind: 'restart', downMs: down });
        this.next.restart = a + down + exponentialMs(this.random, f.gatewayRestartEveryS);
      }
      if (this.outages.length > 64) this.outages.splice(0, this.outages.length - 64);
    }
  }

  ctDownAt(t: number): boolean {
    return this.outages.some((o) => t >= o.from && t < o.to);
  }
}
