import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The Sparkplug birth/death sequence number (bdSeq): 0-255, one more for every MQTT CONNECT
 * (255 wraps to 0), the same value in the CONNECT's will (NDEATH) and the NBIRTH that follows.
 * Kept in a small file so it keeps counting across restarts of the gateway (a host application
 * can then tell a late NDEATH of the previous process from the current session's); without a
 * file it starts at 0 in every process.
 */
export class BdSeq {
  private last: number | null = null;

  constructor(private readonly file?: string) {
    if (!file) return;
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { bdSeq?: unknown };
      if (typeof doc.bdSeq === 'number' && Number.isInteger(doc.bdSeq))
        this.last = ((doc.bdSeq % 256) + 256) % 256;
    } catch {
      // no file yet (or unreadable): start at 0
    }
  }

  /** The value of the current connection (null before the first CONNECT). */
  get current(): number | null {
    return this.last;
  }

  /** The value for the next CONNECT, remembered (file written before it is used). */
  next(): number {
    const value = this.last === null ? 0 : (this.last + 1) % 256;
    this.last = value;
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      writeFileSync(tmp, JSON.stringify({ bdSeq: value }));
      renameSync(tmp, this.file);
    }
    return value;
  }
}
