/**
 * The raw monitor a technician reads: the last N frames in and commands out, kept as bytes in a
 * ring and formatted (hex and printable text) only when asked for.
 */
export type MonitorKind = 'frame' | 'reject' | 'command';

export interface MonitorEntry {
  at: string;
  dir: 'rx' | 'tx';
  kind: MonitorKind;
  /** why the framer or the profile rejected it */
  reason?: string;
  bytes: number;
  hex: string;
  text: string;
}

interface Slot {
  atWall: number;
  dir: 'rx' | 'tx';
  kind: MonitorKind;
  reason: string | undefined;
  raw: Buffer;
}

/** Printable ASCII as is, everything else as \xNN (CR and LF as \r \n). */
export function printable(raw: Uint8Array): string {
  let s = '';
  for (const b of raw) {
    if (b === 0x0d) s += '\\r';
    else if (b === 0x0a) s += '\\n';
    else if (b >= 0x20 && b < 0x7f && b !== 0x5c) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

export class FrameMonitor {
  private readonly ring: (Slot | undefined)[];
  private next = 0;
  private size = 0;
  private readonly bytes: Buffer;
  private bytesNext = 0;
  private bytesSize = 0;

  constructor(
    readonly capacity: number,
    tailBytes = 256,
  ) {
    this.ring = new Array<Slot | undefined>(Math.max(1, capacity));
    this.bytes = Buffer.alloc(Math.max(1, tailBytes));
  }

  /** every byte read, framed or not: the tail shows what a wrong framing throws away */
  addBytes(chunk: Uint8Array): void {
    const cap = this.bytes.length;
    const from = chunk.length > cap ? chunk.length - cap : 0;
    for (let i = from; i < chunk.length; i++) {
      this.bytes[this.bytesNext] = chunk[i] as number;
      this.bytesNext = (this.bytesNext + 1) % cap;
    }
    this.bytesSize = Math.min(cap, this.bytesSize + chunk.length - from);
  }

  /** the last bytes read, oldest first */
  tail(): Buffer {
    const cap = this.bytes.length;
    const start = (this.bytesNext - this.bytesSize + cap) % cap;
    if (start + this.bytesSize <= cap)
      return Buffer.from(this.bytes.subarray(start, start + this.bytesSize));
    return Buffer.concat([this.bytes.subarray(start), this.bytes.subarray(0, this.bytesNext)]);
  }

  add(atWall: number, dir: 'rx' | 'tx', kind: MonitorKind, raw: Buffer, reason?: string): void {
    this.ring[this.next] = { atWall, dir, kind, reason, raw };
    this.next = (this.next + 1) % this.ring.length;
    if (this.size < this.ring.length) this.size++;
  }

  /** The last `limit` entries, oldest first. */
  last(limit = this.capacity): MonitorEntry[] {
    const n = Math.max(0, Math.min(limit, this.size));
    const out: MonitorEntry[] = [];
    for (let i = n; i > 0; i--) {
      const slot = this.ring[(this.next - i + this.ring.length) % this.ring.length];
      if (!slot) continue;
      const e: MonitorEntry = {
        at: new Date(slot.atWall).toISOString(),
        dir: slot.dir,
        kind: slot.kind,
        bytes: slot.raw.length,
        hex: slot.raw.toString('hex'),
        text: printable(slot.raw),
      };
      if (slot.reason !== undefined) e.reason = slot.reason;
      out.push(e);
    }
    return out;
  }
}
