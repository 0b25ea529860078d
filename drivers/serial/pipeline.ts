import type { Frame, Framer, FramerEvent } from './framers.js';
import type { FrameMonitor } from './monitor.js';
import type { ParseResult, Profile } from './profiles/profile.js';

/**
 * Bytes -> frames -> typed readings, with the counters and the raw monitor. Pure and
 * synchronous (the driver feeds it port data); it never throws, whatever the bytes, and counts
 * every frame it rejects: framer rejects (oversize, interrupted) and profile rejects by reason.
 */
export interface PipelineItem<T> {
  frame: Frame;
  result: ParseResult<T>;
}

export interface PipelineStats {
  bytesIn: number;
  discardedBytes: number;
  /** control bytes dropped before delimited frames (line noise), part of discardedBytes */
  leadingNoiseBytes: number;
  buffered: number;
  frames: number;
  accepted: number;
  /** framer rejects + profile rejects */
  rejected: number;
  rejectReasons: Record<string, number>;
}

export class SerialPipeline<T> {
  private accepted = 0;
  private parseRejected = 0;
  private readonly reasons: Record<string, number> = {};
  private readonly events: FramerEvent[] = [];

  constructor(
    readonly framer: Framer,
    readonly profile: Profile<T>,
    private readonly monitor: FrameMonitor | null,
  ) {}

  ingest(chunk: Uint8Array, nowMono: number, nowWall: number, out: PipelineItem<T>[]): void {
    this.framer.push(chunk, nowMono, this.events);
    this.drain(nowWall, out);
  }

  /** time-driven framing (inter-byte timeout): call at framer.deadline() */
  flush(nowMono: number, nowWall: number, out: PipelineItem<T>[]): void {
    this.framer.flush(nowMono, this.events);
    this.drain(nowWall, out);
  }

  /** the link dropped: an unfinished frame is discarded */
  reset(): void {
    this.framer.reset();
  }

  private drain(nowWall: number, out: PipelineItem<T>[]): void {
    const events = this.events;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as FramerEvent;
      if (e.type === 'reject') {
        this.count(`framer.${e.reason}`);
        this.monitor?.add(nowWall, 'rx', 'reject', e.raw, e.reason);
        continue;
      }
      let result: ParseResult<T>;
      try {
        result = this.profile.parse(e.frame);
      } catch (err) {
        // a profile bug must not take the driver down: the frame is rejected and counted
        result = { ok: false, reason: `exception:${(err as Error).name}` };
      }
      if (result.ok) {
        this.accepted++;
        this.monitor?.add(nowWall, 'rx', 'frame', e.frame.raw);
      } else {
        this.parseRejected++;
        this.count(`parse.${result.reason}`);
        this.monitor?.add(nowWall, 'rx', 'reject', e.frame.raw, result.reason);
      }
      out.push({ frame: e.frame, result });
    }
    events.length = 0;
  }

  private count(reason: string): void {
    this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
  }

  stats(): PipelineStats {
    const f = this.framer.stats;
    return {
      bytesIn: f.bytesIn,
      discardedBytes: f.discardedBytes,
      leadingNoiseBytes: f.leadingNoiseBytes,
      buffered: this.framer.buffered,
      frames: f.frames,
      accepted: this.accepted,
      rejected: f.rejected + this.parseRejected,
      rejectReasons: { ...this.reasons },
    };
  }
}
