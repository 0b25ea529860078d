/**
 * Framers: pure, synchronous byte-stream splitters (bytes in -> frames and rejects out).
 * Every framer has a maximum frame size; bytes that end up in no frame (noise between frames,
 * oversized or interrupted frames, empty frames) are counted as discarded, so at any time
 *   bytesIn === frameBytes + discardedBytes + buffered
 * which the fuzz test checks. Nothing here throws on any input.
 */

export type FrameRejectReason = 'oversize' | 'interrupted';

export interface Frame {
  /** the content between the framing bytes */
  payload: Buffer;
  /** the whole frame as it came off the wire, framing bytes included */
  raw: Buffer;
  /** bytes after the end marker (a checksum), empty when none */
  trailer: Buffer;
}

export type FramerEvent =
  { type: 'frame'; frame: Frame } | { type: 'reject'; reason: FrameRejectReason; raw: Buffer };

export interface FramerStats {
  bytesIn: number;
  frames: number;
  frameBytes: number;
  rejected: number;
  discardedBytes: number;
  emptyFrames: number;
  /** control bytes discarded before a delimited frame's first byte (counted in discardedBytes too) */
  leadingNoiseBytes: number;
}

export interface Framer {
  readonly maxFrameBytes: number;
  readonly stats: Readonly<FramerStats>;
  /** bytes held for an unfinished frame */
  readonly buffered: number;
  /** feed bytes read at `nowMs` (monotonic); events are appended to `out` */
  push(chunk: Uint8Array, nowMs: number, out: FramerEvent[]): void;
  /** time-driven framers: emit what is due at `nowMs` */
  flush(nowMs: number, out: FramerEvent[]): void;
  /** when flush() next has something to do (monotonic ms), null when nothing is pending */
  deadline(): number | null;
  /** drop the unfinished frame (on disconnect); its bytes count as discarded */
  reset(): void;
}

/** A reject keeps at most this many bytes for the monitor; counters always see all of them. */
const REJECT_KEEP = 256;

abstract class FramerBase implements Framer {
  readonly stats: FramerStats = {
    bytesIn: 0,
    frames: 0,
    frameBytes: 0,
    rejected: 0,
    discardedBytes: 0,
    emptyFrames: 0,
    leadingNoiseBytes: 0,
  };
  protected buf: Buffer;
  protected len = 0;

  constructor(
    readonly maxFrameBytes: number,
    capacity: number,
  ) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1)
      throw new RangeError('maxFrameBytes must be a positive integer');
    this.buf = Buffer.alloc(capacity);
  }

  get buffered(): number {
    return this.len;
  }

  abstract push(chunk: Uint8Array, nowMs: number, out: FramerEvent[]): void;

  flush(_nowMs: number, _out: FramerEvent[]): void {}

  deadline(): number | null {
    return null;
  }

  reset(): void {
    this.stats.discardedBytes += this.len;
    this.len = 0;
  }

  protected emitFrame(out: FramerEvent[], start: number, end: number, trailerAt: number): void {
    // allocUnsafe takes small frames from Node's shared pool: much cheaper than Buffer.from
    const raw = Buffer.allocUnsafe(this.len);
    this.buf.copy(raw, 0, 0, this.len);
    this.stats.frames++;
    this.stats.frameBytes += this.len;
    this.len = 0;
    out.push({
      type: 'frame',
      frame: {
        raw,
        payload: raw.subarray(start, end),
        trailer: raw.subarray(trailerAt),
      },
    });
  }

  protected emitEmpty(): void {
    this.stats.emptyFrames++;
    this.stats.discardedBytes += this.len;
    this.len = 0;
  }

  protected rejectBuffered(out: FramerEvent[], reason: FrameRejectReason): void {
    this.stats.rejected++;
    this.stats.discardedBytes += this.len;
    out.push({
      type: 'reject',
      reason,
      raw: Buffer.from(this.buf.subarray(0, Math.min(this.len, REJECT_KEEP))),
    });
    this.len = 0;
  }
}

/** A control byte (C0 or DEL): line noise when it comes before a text frame's first byte. */
const isControl = (b: number): boolean => b < 0x20 || b === 0x7f;

/**
 * Frames end with a delimiter (CR LF, CR, LF, ETX or any short byte sequence). A frame whose
 * payload grows past maxFrameBytes is rejected and the rest of it, up to the next delimiter, is
 * discarded. Control bytes before a frame's first byte (line noise between frames, a stray STX or
 * NUL) are discarded and counted as `leadingNoiseBytes`, as a start/end framer discards bytes
 * outside its frames; without that, the noise became part of the next frame and a text profile
 * rejected the whole frame. Control bytes inside a frame stay (the profile decides).
 */
export class DelimiterFramer extends FramerBase {
  private readonly delim: Buffer;
  private discarding = false;
  private matched = 0;

  constructor(delimiter: Uint8Array, maxFrameBytes: number) {
    super(maxFrameBytes, maxFrameBytes + delimiter.length);
    if (delimiter.length < 1 || delimiter.length > 8)
      throw new RangeError('delimiter must be 1 to 8 bytes');
    this.delim = Buffer.from(delimiter);
  }

  push(chunk: Uint8Array, _nowMs: number, out: FramerEvent[]): void {
    const d = this.delim;
    const dl = d.length;
    const first = d[0];
    this.stats.bytesIn += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      // delimiter progress (a mismatch restarts at this byte)
      this.matched = b === d[this.matched] ? this.matched + 1 : b === first ? 1 : 0;
      if (this.discarding) {
        this.stats.discardedBytes++;
        if (this.matched === dl) {
          this.discarding = false;
          this.matched = 0;
        }
        continue;
      }
      if (this.len === 0 && this.matched === 0 && isControl(b)) {
        this.stats.discardedBytes++;
        this.stats.leadingNoiseBytes++;
        continue;
      }
      this.buf[this.len++] = b;
      if (this.matched === dl) {
        this.matched = 0;
        if (this.len === dl) this.emitEmpty();
        else this.emitFrame(out, 0, this.len - dl, this.len);
      } else if (this.len - this.matched >= this.maxFrameBytes + 1) {
        this.rejectBuffered(out, 'oversize');
        this.discarding = true;
      }
    }
  }

  override reset(): void {
    super.reset();
    this.matched = 0;
    this.discarding = false;
  }
}

/**
 * STX ... ETX framing (start and end bytes configurable; Toledo continuous output is STX ... CR
 * plus a one-byte checksum trailer). Bytes outside frames are discarded; a start byte inside a
 * frame rejects the unfinished one (interrupted) and starts over.
 */
export class StartEndFramer extends FramerBase {
  private phase: 'idle' | 'body' | 'trailer' = 'idle';
  private trailerLeft = 0;
  private endAt = 0;

  constructor(
    private readonly start: number,
    private readonly end: number,
    maxFrameBytes: number,
    private readonly trailerBytes = 0,
  ) {
    super(maxFrameBytes, maxFrameBytes + 2 + trailerBytes);
  }

  push(chunk: Uint8Array, _nowMs: number, out: FramerEvent[]): void {
    this.stats.bytesIn += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.phase === 'idle') {
        if (b === this.start) {
          this.buf[0] = b;
          this.len = 1;
          this.phase = 'body';
        } else {
          this.stats.discardedBytes++;
        }
      } else if (this.phase === 'body') {
        if (b === this.start) {
          this.rejectBuffered(out, 'interrupted');
          this.buf[0] = b;
          this.len = 1;
        } else if (b === this.end) {
          this.buf[this.len++] = b;
          this.endAt = this.len;
          if (this.trailerBytes === 0) this.finish(out);
          else {
            this.phase = 'trailer';
            this.trailerLeft = this.trailerBytes;
          }
        } else if (this.len - 1 >= this.maxFrameBytes) {
          this.stats.discardedBytes++; // this byte belongs to the rejected frame
          this.rejectBuffered(out, 'oversize');
          this.phase = 'idle';
        } else {
          this.buf[this.len++] = b;
        }
      } else {
        this.buf[this.len++] = b;
        if (--this.trailerLeft === 0) this.finish(out);
      }
    }
  }

  private finish(out: FramerEvent[]): void {
    this.phase = 'idle';
    if (this.endAt === 2) this.emitEmpty();
    else this.emitFrame(out, 1, this.endAt - 1, this.endAt);
  }

  override reset(): void {
    super.reset();
    this.phase = 'idle';
  }
}

/** Fixed-length frames, optionally synchronised on a start byte (noise before it discarded). */
export class FixedLengthFramer extends FramerBase {
  constructor(
    private readonly length: number,
    private readonly start: number | null = null,
  ) {
    super(length, length);
  }

  push(chunk: Uint8Array, _nowMs: number, out: FramerEvent[]): void {
    this.stats.bytesIn += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (this.len === 0 && this.start !== null && b !== this.start) {
        this.stats.discardedBytes++;
        continue;
      }
      this.buf[this.len++] = b;
      if (this.len === this.length) this.emitFrame(out, 0, this.length, this.length);
    }
  }
}

/**
 * A frame ends when the line has been quiet for `gapMs`. Bytes past maxFrameBytes reject the
 * frame and are discarded until the next gap.
 */
export class InterByteTimeoutFramer extends FramerBase {
  private lastAt = 0;
  private discarding = false;

  constructor(
    private readonly gapMs: number,
    maxFrameBytes: number,
  ) {
    super(maxFrameBytes, maxFrameBytes);
  }

  push(chunk: Uint8Array, nowMs: number, out: FramerEvent[]): void {
    this.flush(nowMs, out);
    this.stats.bytesIn += chunk.length;
    if (chunk.length > 0) this.lastAt = nowMs;
    for (let i = 0; i < chunk.length; i++) {
      if (this.discarding) {
        this.stats.discardedBytes++;
        continue;
      }
      if (this.len >= this.maxFrameBytes) {
        this.rejectBuffered(out, 'oversize');
        this.discarding = true;
        this.stats.discardedBytes++;
        continue;
      }
      this.buf[this.len++] = chunk[i] as number;
    }
  }

  override flush(nowMs: number, out: FramerEvent[]): void {
    if (nowMs - this.lastAt < this.gapMs) return;
    this.discarding = false;
    if (this.len > 0) this.emitFrame(out, 0, this.len, this.len);
  }

  override deadline(): number | null {
    return this.len > 0 || this.discarding ? this.lastAt + this.gapMs : null;
  }

  override reset(): void {
    super.reset();
    this.discarding = false;
  }
}
