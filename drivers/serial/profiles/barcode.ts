import type { Frame } from '../framers.js';
import {
  accept,
  compilePattern,
  frameText,
  reject,
  type ParseResult,
  type Profile,
} from './profile.js';

/**
 * Fixed-mount barcode scanner output: one read per frame. A pattern with named groups extracts
 * `code` (required), and `status` / `symbology` when the scanner sends them, e.g.
 *   ^(?<symbology>[A-Z0-9]+);(?<code>[A-Z0-9]+)$
 * No-read strings (NOREAD, NR, ?), a multiple-read string and a heartbeat string are matched on
 * the whole trimmed frame before the pattern.
 */
export interface BarcodeProfileOptions {
  pattern: string;
  noRead: readonly string[];
  multipleRead: string | null;
  heartbeat: string | null;
  /** values of the `status` group that mean the scanner could not read */
  noReadStatuses: readonly string[];
}

export type BarcodeReading =
  | { type: 'code'; code: string; status?: string; symbology?: string }
  | { type: 'noRead'; text: string }
  | { type: 'multipleRead'; text: string }
  | { type: 'heartbeat' };

export const BARCODE_DEFAULTS: BarcodeProfileOptions = {
  pattern: '^(?<code>[\\x21-\\x7e]+)$',
  noRead: ['NOREAD', 'NR', '?'],
  multipleRead: null,
  heartbeat: null,
  noReadStatuses: [],
};

export class BarcodeProfile implements Profile<BarcodeReading> {
  readonly name = 'barcode';
  private readonly pattern: RegExp;
  private readonly noRead: Set<string>;
  private readonly noReadStatuses: Set<string>;

  constructor(private readonly o: BarcodeProfileOptions) {
    this.pattern = compilePattern(o.pattern, 'barcode pattern');
    if (!/\(\?<code>/.test(o.pattern))
      throw new Error('barcode pattern needs a (?<code>...) group');
    this.noRead = new Set(o.noRead);
    this.noReadStatuses = new Set(o.noReadStatuses);
  }

  parse(frame: Frame): ParseResult<BarcodeReading> {
    const text = frameText(frame.payload);
    if (text === null) return reject('control-bytes');
    if (text.length === 0) return reject('empty');
    if (this.o.heartbeat !== null && text === this.o.heartbeat)
      return accept({ type: 'heartbeat' });
    if (this.noRead.has(text)) return accept({ type: 'noRead', text });
    if (this.o.multipleRead !== null && text === this.o.multipleRead)
      return accept({ type: 'multipleRead', text });
    const m = this.pattern.exec(text);
    const groups = m?.groups;
    if (!groups) return reject('pattern');
    const code = groups.code;
    const status = groups.status;
    const symbology = groups.symbology;
    if (status !== undefined && this.noReadStatuses.has(status))
      return accept({ type: 'noRead', text });
    if (code === undefined || code.length === 0) return accept({ type: 'noRead', text });
    if (this.noRead.has(code)) return accept({ type: 'noRead', text });
    if (this.o.multipleRead !== null && code === this.o.multipleRead)
      return accept({ type: 'multipleRead', text });
    const reading: BarcodeReading = { type: 'code', code };
    if (status !== undefined) reading.status = status;
    if (symbology !== undefined) reading.symbology = symbology;
    return accept(reading);
  }
}
