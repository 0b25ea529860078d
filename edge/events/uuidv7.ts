import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562) with a monotonic 12-bit counter in rand_a, so ids made in the same
 * millisecond still sort in creation order within this process.
 */
export class UuidV7Generator {
  private lastMs = -1;
  private counter = 0;
  private readonly rand = Buffer.alloc(10);

  constructor(private readonly nowMs: () => number = Date.now) {}

  next(): string {
    let ms = this.nowMs();
    if (ms <= this.lastMs) {
      ms = this.lastMs;
      this.counter++;
      if (this.counter > 0xfff) {
        // counter exhausted: borrow the next millisecond to stay monotonic
        ms = this.lastMs + 1;
        this.counter = 0;
      }
    } else {
      this.counter = 0;
    }
    this.lastMs = ms;
    randomFillSync(this.rand);
    const b = Buffer.alloc(16);
    b.writeUIntBE(ms, 0, 6);
    b[6] = 0x70 | ((this.counter >> 8) & 0x0f);
    b[7] = this.counter & 0xff;
    b[8] = 0x80 | ((this.rand[0] ?? 0) & 0x3f);
    this.rand.copy(b, 9, 1, 8);
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}

export function uuidV7Timestamp(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}
