/**
 * The outbox's condition: whether the record is being kept and drained, and if not, why. The
 * gateway's health and stack light show it (`degraded` with the reasons). Reasons:
 *   - not-recording: the last commit failed and none succeeded since (events are being lost);
 *   - dropping: undelivered events were dropped (quota or full disk) or could not be stored at
 *     all in the last `holdMs`: the platform will see gaps (announced by `outbox.dropped`);
 *   - disk-full: a write failed for lack of space and the reserve file is given up;
 *   - not-draining: the uplink is connected, events are pending and none was marked delivered
 *     for `stuckAfterMs` (or marking deliveries fails): the outbox is stuck. Raised once as an
 *     alarm (EDGE_OUTBOX_STUCK) when it starts.
 * Messages are fixed texts with counts: no paths, no error texts (public health shows them).
 */

export type OutboxReasonCode = 'not-recording' | 'dropping' | 'disk-full' | 'not-draining';

export interface OutboxReason {
  code: OutboxReasonCode;
  message: string;
  /** since when (ISO wall time) */
  since: string;
}

export interface OutboxCondition {
  state: 'ok' | 'degraded';
  reasons: OutboxReason[];
}

export interface ConditionInputs {
  pending: number;
  reserveReleased: boolean;
}

export interface OutboxWatchOptions {
  monoMs: () => number;
  wallMs: () => number;
  /** how long drops keep the outbox degraded (default 60 s) */
  holdMs?: number | undefined;
  /** connected, pending and nothing marked delivered this long: stuck (default 30 s) */
  stuckAfterMs?: number | undefined;
}

export class OutboxWatch {
  private failingSince: { mono: number; wall: number; diskFull: boolean } | null = null;
  private lastDrop: { mono: number; wall: number; firstWall: number } | null = null;
  private droppedInHold: [number, number, number] = [0, 0, 0];
  private diskFullSince: number | null = null;
  private markFailing = false;
  private marked = 0;
  private progress = { mono: 0, wall: 0, marked: 0 };
  private stuck = false;
  private connected: () => boolean = () => false;

  constructor(private readonly o: OutboxWatchOptions) {
    this.progress = { mono: o.monoMs(), wall: o.wallMs(), marked: 0 };
  }

  /** How the outbox learns whether the uplink is connected (for the stuck check). */
  setDrainProbe(connected: () => boolean): void {
    this.connected = connected;
  }

  committed(): void {
    this.failingSince = null;
  }

  commitFailed(diskFull: boolean): void {
    this.failingSince ??= { mono: this.o.monoMs(), wall: this.o.wallMs(), diskFull };
    this.failingSince.diskFull = diskFull;
  }

  /** Undelivered events dropped by the quota or lost to a full disk, by priority. */
  dropped(byPriority: readonly number[]): void {
    const mono = this.o.monoMs();
    const wall = this.o.wallMs();
    if (!this.lastDrop || mono - this.lastDrop.mono > this.holdMs) {
      this.droppedInHold = [0, 0, 0];
      this.lastDrop = { mono, wall, firstWall: wall };
    }
    this.lastDrop.mono = mono;
    this.lastDrop.wall = wall;
    for (let p = 0; p < 3; p++) this.droppedInHold[p]! += byPriority[p] ?? 0;
  }

  diskFull(): void {
    this.diskFullSince ??= this.o.wallMs();
  }

  marks(changed: number, failed: boolean): void {
    this.markFailing = failed;
    this.marked += changed;
  }

  private get holdMs(): number {
    return this.o.holdMs ?? 60_000;
  }

  /**
   * The condition now. Also follows the drain: `stuckStarted` is true on the call that first
   * sees a stuck outbox (the caller raises the alarm once).
   */
  evaluate(inputs: ConditionInputs): OutboxCondition & { stuckStarted: boolean } {
    const mono = this.o.monoMs();
    const reasons: OutboxReason[] = [];
    const iso = (wall: number): string => new Date(wall).toISOString();
    if (this.failingSince) {
      reasons.push({
        code: 'not-recording',
        message: this.failingSince.diskFull
          ? 'events are not being recorded: the disk is full'
          : 'events are not being recorded: the outbox cannot write',
        since: iso(this.failingSince.wall),
      });
    }
    if (this.lastDrop && mono - this.lastDrop.mono <= this.holdMs) {
      const [t, o, r] = this.droppedInHold;
      reasons.push({
        code: 'dropping',
        message: `undelivered events dropped to make room (records ${r}, operational ${o}, telemetry ${t}); gaps announced by outbox.dropped`,
        since: iso(this.lastDrop.firstWall),
      });
    }
    if (inputs.reserveReleased) {
      reasons.push({
        code: 'disk-full',
        message: 'the disk was full: the outbox reserve space is in use',
        since: iso(this.diskFullSince ?? this.o.wallMs()),
      });
    } else {
      this.diskFullSince = null;
    }
    const stuckStarted = this.followDrain(mono, inputs.pending);
    if (this.stuck) {
      reasons.push({
        code: 'not-draining',
        message: this.markFailing
          ? `outbox not draining: deliveries cannot be marked (${inputs.pending} pending)`
          : `outbox not draining: ${inputs.pending} pending, none delivered for ${Math.round((mono - this.progress.mono) / 1000)} s while the uplink is connected`,
        since: iso(this.progress.wall),
      });
    }
    return { state: reasons.length > 0 ? 'degraded' : 'ok', reasons, stuckStarted };
  }

  private followDrain(mono: number, pending: number): boolean {
    const moving = this.marked !== this.progress.marked && !this.markFailing;
    if (pending === 0 || moving || !this.connected()) {
      this.progress = { mono, wall: this.o.wallMs(), marked: this.marked };
      this.stuck = false;
      return false;
    }
    const wasStuck = this.stuck;
    this.stuck = mono - this.progress.mono > (this.o.stuckAfterMs ?? 30_000);
    return this.stuck && !wasStuck;
  }
}
