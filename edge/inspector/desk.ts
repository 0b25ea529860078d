import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { InspectorConfig } from '../../config/inspector-schema.js';
import type { Clock } from '../clock.js';
import type { EdgeEvent, EventDraft } from '../events/model.js';
import type { StoredRow } from '../outbox/rows.js';
import { Claims } from './claims.js';
import { decide, type DecideRequest, type DecideResult } from './decide.js';
import { FlagProjection, newChanges, type ProjectionChanges } from './flag-projection.js';
import { imageLinkIssue, imageUrl } from './image-link.js';
import { InspectorStore } from './inspector-store.js';
import type { Flag, FlagReason, FlagView } from './model.js';

/**
 * The inspector workstation's backend (docs/inspector.md): keeps the queue of parcels an officer
 * must act on as a projection of the outbox's committed events (never touching the engine's
 * inputs), tells subscribers (the SSE stream) about every change and every new alert, holds the
 * claims (who has a parcel open), and records officer decisions through the outbox
 * (decide.ts). Story, search and shift report read from here (story.ts, shift-report.ts).
 */

/** What the desk needs of the outbox (edge/outbox/outbox.ts satisfies it). */
export interface InspectorEventLog {
  append(drafts: EventDraft[]): Promise<EdgeEvent[]>;
  onCommitted(listener: (events: EdgeEvent[]) => void): () => void;
  range(stream: 'events', fromSeq: number, toSeq: number, limit: number): StoredRow[];
  stats(): { lastSeq: number };
}

/** The line engine's officer-verdict input (EngineRunner.officerVerdict). */
export interface OfficerVerdictTarget {
  officerVerdict(input: {
    parcelId: string | null;
    waybill: string | null;
    verdict: 'clear' | 'suspect' | 'unknown';
    officerId: string;
    reportId: string | null;
    /** the workstation's decisions are on-site (no CT-record binding, edge/engine/officer-evidence.ts) */
    source: 'workstation';
  }): Record<string, unknown>;
}

export interface InspectorDeskOptions {
  config: InspectorConfig;
  dataDir: string;
  events: InspectorEventLog;
  engine: () => OfficerVerdictTarget | null;
  clock: Clock;
  log: Logger;
  /** how long the outbox keeps delivered events: the parcel index is pruned after that */
  eventRetentionS: number;
}

export type DeskMessage =
  | { kind: 'flag'; flag: FlagView }
  | { kind: 'alert'; flag: FlagView }
  | { kind: 'gone'; parcelId: string };

const PRUNE_INTERVAL_MS = 3_600_000;
const SWEEP_INTERVAL_MS = 2_000;
const CATCH_UP_PAGE = 1000;

export class InspectorDesk {
  readonly store: InspectorStore;
  readonly projection: FlagProjection;
  readonly claims: Claims;
  private readonly listeners = new Set<(m: DeskMessage) => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;
  private readonly template: string | undefined;
  /** parcels with a decision being recorded (a second one waits its turn: 409) */
  readonly deciding = new Set<string>();
  private lastWriteError: string | null = null;
  private closed = false;

  constructor(readonly o: InspectorDeskOptions) {
    this.store = new InspectorStore(resolve(o.dataDir, o.config.storeFile));
    this.projection = new FlagProjection(this.store, new Set<FlagReason>(o.config.alertReasons));
    this.claims = new Claims(o.config.claimTtlS * 1000, o.clock.wallMs);
    const issue = o.config.imageUrlTemplate ? imageLinkIssue(o.config.imageUrlTemplate) : null;
    if (issue) o.log.error({ issue }, 'inspector.imageUrlTemplate unusable: no image links');
    this.template = issue ? undefined : o.config.imageUrlTemplate;
  }

  /** Load the open queue, read the events stored since the last run, then follow new ones. */
  start(): void {
    this.projection.seed(this.store.openFlags());
    this.catchUp();
    this.unsubscribe = this.o.events.onCommitted((events) => this.onEvents(events, true));
    const sweep = setInterval(() => {
      for (const id of this.claims.sweep()) this.announce(id);
    }, SWEEP_INTERVAL_MS);
    const prune = setInterval(() => this.prune(), PRUNE_INTERVAL_MS);
    sweep.unref();
    prune.unref();
    this.timers.push(sweep, prune);
    this.prune();
  }

  private catchUp(): void {
    const last = this.o.events.stats().lastSeq;
    let checkpoint = this.store.checkpoint();
    if (checkpoint > last) {
      // a new outbox file (its seqs start again): everything in it is new to the queue
      this.o.log.warn({ checkpoint, lastSeq: last }, 'outbox seq below the inspector checkpoint');
      checkpoint = 0;
    }
    let from = Math.max(checkpoint + 1, last - this.o.config.catchUpMaxEvents + 1);
    if (from > checkpoint + 1 && checkpoint > 0)
      this.o.log.warn({ skipped: from - checkpoint - 1 }, 'inspector catch-up capped');
    let read = 0;
    while (from <= last) {
      const rows = this.o.events.range('events', from, last, CATCH_UP_PAGE);
      if (rows.length === 0) break;
      this.onEvents(rows.map(storedToEvent), false);
      read += rows.length;
      from = (rows[rows.length - 1]?.seq ?? last) + 1;
    }
    if (read > 0) this.o.log.info({ events: read, lastSeq: last }, 'inspector queue caught up');
  }

  private onEvents(events: readonly EdgeEvent[], live: boolean): void {
    if (this.closed) return;
    let ch: ProjectionChanges;
    try {
      ch = this.projection.apply(events, newChanges());
    } catch (err) {
      this.o.log.error({ err }, 'inspector projection failed on a batch');
      return;
    }
    if (ch.lastSeq === 0) return;
    try {
      this.store.write(ch, this.o.clock.wallMs());
      this.lastWriteError = null;
    } catch (err) {
      // the checkpoint did not move: these events are read again at the next start
      this.lastWriteError = String(err);
      this.o.log.error({ err }, 'inspector store write failed');
    }
    if (!live) return;
    for (const f of ch.flags.values()) this.emit({ kind: 'flag', flag: this.view(f) });
    for (const f of ch.alerts) this.emit({ kind: 'alert', flag: this.view(f) });
  }

  /** A flag as the API shows it. */
  view(f: Flag): FlagView {
    const holder = this.claims.holder(f.parcelId);
    const end = f.firstDecisionAt ? Date.parse(f.firstDecisionAt) : this.o.clock.wallMs();
    return {
      ...f,
      imageUrl: imageUrl(this.template, f),
      openedBy: holder
        ? { officer: holder.officer, since: new Date(holder.sinceMs).toISOString() }
        : null,
      waitingMs: Math.max(0, end - f.flaggedAtMs),
    };
  }

  /**
   * Open entries (oldest first; at most `openLimit`, the newest, when the backlog is longer:
   * `openTotal` says how many wait) and the latest decided ones (newest first).
   */
  queue(
    decidedLimit: number,
    openLimit = 1000,
  ): { open: FlagView[]; openTotal: number; decided: FlagView[] } {
    const open = [...this.projection.open.values()].sort((a, b) => a.flaggedAtMs - b.flaggedAtMs);
    return {
      open: open.slice(-openLimit).map((f) => this.view(f)),
      openTotal: open.length,
      decided:
        decidedLimit > 0 ? this.store.recentDecided(decidedLimit).map((f) => this.view(f)) : [],
    };
  }

  flag(parcelId: string): Flag | null {
    return this.projection.flag(parcelId);
  }

  /** Whether the gateway has any record of this parcel. */
  knows(parcelId: string): boolean {
    return this.projection.flag(parcelId) !== null || this.projection.context(parcelId) !== null;
  }

  subscribe(listener: (m: DeskMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(m: DeskMessage): void {
    for (const l of this.listeners) {
      try {
        l(m);
      } catch (err) {
        this.o.log.warn({ err }, 'inspector subscriber threw');
      }
    }
  }

  /** Tell subscribers the current state of one parcel (claim changed, expired). */
  announce(parcelId: string): void {
    const f = this.projection.flag(parcelId);
    if (f) this.emit({ kind: 'flag', flag: this.view(f) });
  }

  claim(parcelId: string, officer: string, takeOver: boolean) {
    const r = this.claims.claim(parcelId, officer, takeOver);
    if (r.ok) {
      if (r.tookOverFrom)
        this.o.log.info({ parcelId, officer, from: r.tookOverFrom }, 'parcel taken over');
      this.announce(parcelId);
    }
    return r;
  }

  release(parcelId: string, officer: string): boolean {
    const released = this.claims.release(parcelId, officer);
    if (released) this.announce(parcelId);
    return released;
  }

  /** Acknowledge an entry's alert (recorded as an event: evidence the alert was seen). */
  async acknowledge(parcelId: string, officer: string): Promise<EdgeEvent> {
    const [stored] = await this.o.events.append([
      {
        type: 'inspector.alert_acknowledged',
        parcelId,
        atMono: this.o.clock.monoMs(),
        payload: { parcelId, officer },
      },
    ]);
    return stored!;
  }

  decide(req: DecideRequest): Promise<DecideResult> {
    return decide(this, req);
  }

  /** Unacknowledged open entries with an alert, for alert outputs and the page. */
  pendingAlerts(): Flag[] {
    return [...this.projection.open.values()].filter((f) => f.alert && f.ackedBy === null);
  }

  health(): Record<string, unknown> {
    return {
      open: this.projection.open.size,
      pendingAlerts: this.pendingAlerts().length,
      checkpoint: this.store.checkpoint(),
      subscribers: this.listeners.size,
      imageLinks: this.template !== undefined,
      ...(this.lastWriteError ? { lastError: this.lastWriteError } : {}),
    };
  }

  private prune(): void {
    const now = this.o.clock.wallMs();
    try {
      const r = this.store.prune(
        now - (this.o.eventRetentionS + 86_400) * 1000,
        now - this.o.config.historyDays * 86_400_000,
      );
      if (r.parcels + r.flags > 0) this.o.log.info(r, 'inspector history pruned');
    } catch (err) {
      this.o.log.warn({ err }, 'inspector prune failed');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    this.listeners.clear();
    this.store.close();
  }
}

export function storedToEvent(r: StoredRow): EdgeEvent {
  return {
    schema: 1,
    id: r.id,
    seq: r.seq,
    stream: r.stream,
    gatewayId: '',
    type: r.type,
    parcelId: r.parcelId,
    monoMs: r.monoMs,
    time: r.time,
    payload: JSON.parse(r.payloadJson) as Record<string, unknown>,
  };
}
