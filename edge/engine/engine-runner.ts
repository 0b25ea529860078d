import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import type { EventDraft } from '../events/model.js';
import type { TargetingList } from '../targeting/targeting-list.js';
import { LineEngine, type BeltClearance, type TrackingSnapshot } from './line-engine.js';
import type {
  EngineConfig,
  EngineInput,
  EngineOutput,
  GateCancel,
  GateCommand,
  OfficerVerdictInput,
  PlcDivertCommand,
} from './types.js';
import { eventDraft } from '../events/payloads/draft.js';

/**
 * Drives the pure engine in real time: feeds it inputs, wakes it at its next deadline (a timer
 * through the Clock), sends gate / PLC commands first (the gate path never waits on storage),
 * then hands events to the outbox. With `stores` the targeting list and the tracking snapshot
 * persist (the composition root opens them: edge/gateway/engine-stores.ts): on start, the
 * parcels a previous run was tracking are recorded as gone to inspection (their position is lost
 * and the gate controller dropped their commands, so they physically run straight on).
 */

/** Where the active targeting list lives (edge/targeting/targeting-store.ts). */
export interface TargetingPersistence {
  active(): TargetingList | null;
  replace(version: string, entries: readonly unknown[], source: string): TargetingList;
  recordHit(version: string, entryId: string): void;
  close(): void;
}

/** Where the tracking snapshot lives (edge/gateway/snapshot-store.ts). */
export interface SnapshotPersistence {
  load(lineId: string): TrackingSnapshot | null;
  save(snapshot: TrackingSnapshot): void;
  close(): void;
}

export interface EngineRunnerOptions<T extends TargetingPersistence> {
  engine: EngineConfig;
  /** the line's id, the key of its tracking snapshot */
  lineId: string;
  clock: Clock;
  log: Logger;
  newParcelId: () => string;
  sendGateCommand: (command: GateCommand) => void;
  recordEvents: (events: EventDraft[]) => void;
  /**
   * Withdraw a GPIO command (stop, speed change, parcel became unknown): every pending command
   * for the parcel on the gate. Returns false when nothing matched; the runner then records
   * `gate.cancel_unmatched` (the engine believed a command was pending).
   */
  cancelGateCommand?: (cancel: GateCancel) => boolean | void;
  /** PLC hand-off mode lanes: the OPC UA driver writes these to the sorter PLC */
  sendPlcCommand?: (command: PlcDivertCommand) => void;
  /** the targeting list and the tracking snapshot; absent: neither persists */
  stores?: { targeting: T; snapshots: SnapshotPersistence };
  snapshotIntervalMs?: number;
}

export class EngineRunner<T extends TargetingPersistence = TargetingPersistence> {
  readonly engine: LineEngine;
  readonly targeting: T | null = null;
  private readonly snapshots: SnapshotPersistence | null = null;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private readonly log: Logger;
  private lastSnapshotMono = -Infinity;
  private snapshotDirty = false;
  decisions = 0;

  constructor(private readonly o: EngineRunnerOptions<T>) {
    this.engine = new LineEngine(o.engine, o.newParcelId, o.clock.monoMs());
    this.log = o.log;
    if (o.stores) {
      this.targeting = o.stores.targeting;
      this.snapshots = o.stores.snapshots;
      const now = o.clock.monoMs();
      const previous = this.snapshots.load(o.lineId);
      if (previous && previous.parcels.length > 0)
        this.log.warn(
          { parcels: previous.parcels.length },
          'restart: in-flight parcels go to inspection',
        );
      this.apply(this.engine.restore(previous, now));
      this.apply(this.engine.setTargeting(this.targeting.active(), now));
      this.snapshots.save(this.engine.snapshot(now));
    }
  }

  handle(signal: EngineInput): void {
    if (this.stopped) return;
    this.apply(this.engine.handle(signal, this.o.clock.monoMs()));
  }

  /** Whether the belt can still carry a parcel, tracked or not, now (LineEngine.beltClearance). */
  beltClearance(): BeltClearance {
    return this.engine.beltClearance(this.o.clock.monoMs());
  }

  /** Tracked parcels a hand fire of this gate could divert now (LineEngine.parcelsBeforeGate). */
  parcelsBeforeGate(gateId: string): number {
    return this.engine.parcelsBeforeGate(gateId, this.o.clock.monoMs());
  }

  /** A remote inspector's decision; returns what the engine made of it (the event payload). */
  officerVerdict(input: Omit<OfficerVerdictInput, 'type' | 'atMono'>): Record<string, unknown> {
    const now = this.o.clock.monoMs();
    const out = this.engine.handle({ type: 'officerVerdict', atMono: now, ...input }, now);
    const result = out.events.find((e) => e.type === 'ct.officer_verdict');
    this.apply(out);
    return { parcelId: result?.parcelId ?? null, ...(result?.payload ?? {}) };
  }

  /**
   * Replace the targeting list (platform command or API). Throws EDGE_TARGETING_INVALID with
   * every problem; on success the engine uses the new list for every decision from now on.
   */
  replaceTargeting(version: string, entries: readonly unknown[], source: string): TargetingList {
    if (!this.targeting) throw new Error('no stores: the targeting list is not persisted');
    const list = this.targeting.replace(version, entries, source);
    this.activated(list, source);
    return list;
  }

  /**
   * replaceTargeting for the platform's lists, which may hold 500,000 entries: `load` has the
   * store check, stage and index the list in slices (TargetingStore.replaceInSlices), so the event
   * loop keeps turning; the engine switches to the new list in one step once it is active.
   */
  async replaceTargetingWith(
    source: string,
    load: (targeting: T) => Promise<TargetingList>,
  ): Promise<TargetingList> {
    if (!this.targeting) throw new Error('no stores: the targeting list is not persisted');
    const list = await load(this.targeting);
    this.activated(list, source);
    return list;
  }

  private activated(list: TargetingList, source: string): void {
    this.apply(this.engine.setTargeting(list, this.o.clock.monoMs()));
    this.o.recordEvents([
      eventDraft('targeting.replaced', null, this.o.clock.monoMs(), {
        version: list.version,
        entries: list.size,
        source,
      }),
    ]);
  }

  private wake(): void {
    this.timer = null;
    if (this.stopped) return;
    this.apply(this.engine.advance(this.o.clock.monoMs()));
  }

  private apply(out: EngineOutput): void {
    // cancels first: they name commands sent earlier, and the link matches them by gate and
    // parcel, so a retime (withdraw + re-send in one output) must not withdraw its new command
    for (const cancel of out.gateCancels) {
      if (!this.o.cancelGateCommand) {
        this.log.warn({ cancel }, 'gate command cannot be withdrawn: no cancel path wired');
        continue;
      }
      this.guard(
        () => {
          if (this.o.cancelGateCommand?.(cancel) === false) this.unmatched(cancel, out);
        },
        'gate cancel failed',
        cancel,
      );
    }
    for (const command of out.gateCommands)
      this.guard(() => this.o.sendGateCommand(command), 'gate command failed', command);
    for (const command of out.plcCommands) {
      if (!this.o.sendPlcCommand) {
        this.log.error({ command }, 'PLC hand-off lane configured but no PLC path wired');
        continue;
      }
      this.guard(() => this.o.sendPlcCommand?.(command), 'PLC command failed', command);
    }
    if (out.events.length > 0) {
      for (const e of out.events) {
        if (e.type === 'parcel.decided') this.decisions++;
        if (e.type === 'targeting.hit' && this.targeting)
          this.targeting.recordHit(String(e.payload.listVersion), String(e.payload.entryId));
      }
      this.snapshotDirty = true;
      this.o.recordEvents(out.events);
    }
    this.saveSnapshot(false);
    this.reschedule();
  }

  /** The engine withdrew a command the gate link no longer had: it fired already, or failed. */
  private unmatched(cancel: GateCancel, out: EngineOutput): void {
    this.log.warn({ cancel }, 'gate cancel matched no pending command');
    out.events.push(
      eventDraft('gate.cancel_unmatched', cancel.parcelId, this.o.clock.monoMs(), {
        gateId: cancel.gateId,
        parcelId: cancel.parcelId,
        fireAtMono: cancel.fireAtMono,
        reason: cancel.reason,
        note: 'no pending command for this parcel on this gate: it already fired, or was refused / lost (see gate.fired / gate.failed)',
      }),
    );
  }

  private guard(fn: () => void, msg: string, what: unknown): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, what }, msg);
    }
  }

  private saveSnapshot(force: boolean): void {
    if (!this.snapshots || !this.snapshotDirty) return;
    const now = this.o.clock.monoMs();
    if (!force && now - this.lastSnapshotMono < (this.o.snapshotIntervalMs ?? 250)) return;
    try {
      this.snapshots.save(this.engine.snapshot(now));
      this.lastSnapshotMono = now;
      this.snapshotDirty = false;
    } catch (err) {
      this.log.warn({ err }, 'tracking snapshot not saved');
    }
  }

  private reschedule(): void {
    this.o.clock.clearTimer(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const wake = this.engine.nextWakeMono();
    const now = this.o.clock.monoMs();
    // wake for the snapshot too, so it does not wait for the next signal
    const snap = this.snapshotDirty && this.snapshots ? this.lastSnapshotMono + 250 : null;
    const next = wake === null ? snap : snap === null ? wake : Math.min(wake, snap);
    if (next === null) return;
    this.timer = this.o.clock.setTimer(() => this.wake(), Math.max(0, Math.ceil(next - now)));
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimer(this.timer);
    this.timer = null;
    this.saveSnapshot(true);
    this.snapshots?.close();
    this.targeting?.close();
  }
}
