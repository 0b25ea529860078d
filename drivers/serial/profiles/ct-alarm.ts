import type { CtVerdict } from '../../../edge/engine/types.js';
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
 * A CT scanner's alarm / result line. A configured pattern with named groups:
 *   verdict (required), scanId, imageId, ageMs (how long ago the parcel was in the tunnel)
 * e.g. ^RESULT;(?<scanId>[^;]+);(?<verdict>[A-Z_]+);(?<imageId>[^;]*)$
 * Verdict words map to clear / suspect / unknown; a word not in the lists is `unknown`
 * (fail-safe: it sends the parcel to inspection) and flagged so it is counted.
 */
export interface CtAlarmProfileOptions {
  pattern: string;
  verdicts: { clear: readonly string[]; suspect: readonly string[]; unknown: readonly string[] };
  heartbeat: string | null;
}

export type CtAlarmReading =
  | {
      type: 'verdict';
      verdict: CtVerdict;
      word: string;
      recognised: boolean;
      scanId: string | null;
      imageId: string | null;
      ageMs: number;
    }
  | { type: 'heartbeat' };

export const CT_ALARM_DEFAULTS: CtAlarmProfileOptions = {
  pattern:
    '^(?<scanId>[A-Za-z0-9_-]+)[;,](?<verdict>[A-Za-z_]+)(?:[;,](?<imageId>[A-Za-z0-9_.-]*))?$',
  verdicts: {
    clear: ['NO_ALARM', 'CLEAR', 'OK'],
    suspect: ['ALARM', 'SUSPECT'],
    unknown: ['UNKNOWN'],
  },
  heartbeat: null,
};

export class CtAlarmProfile implements Profile<CtAlarmReading> {
  readonly name = 'ct-alarm';
  private readonly pattern: RegExp;
  private readonly words = new Map<string, CtVerdict>();

  constructor(private readonly o: CtAlarmProfileOptions) {
    this.pattern = compilePattern(o.pattern, 'CT alarm pattern');
    if (!/\(\?<verdict>/.test(o.pattern))
      throw new Error('CT alarm pattern needs a (?<verdict>...) group');
    for (const verdict of ['unknown', 'suspect', 'clear'] as const)
      for (const w of o.verdicts[verdict]) if (!this.words.has(w)) this.words.set(w, verdict);
  }

  parse(frame: Frame): ParseResult<CtAlarmReading> {
    const text = frameText(frame.payload);
    if (text === null) return reject('control-bytes');
    if (text.length === 0) return reject('empty');
    if (this.o.heartbeat !== null && text === this.o.heartbeat)
      return accept({ type: 'heartbeat' });
    const g = this.pattern.exec(text)?.groups;
    const word = g?.verdict;
    if (!g || word === undefined || word.length === 0) return reject('pattern');
    let ageMs = 0;
    if (g.ageMs !== undefined) {
      ageMs = Number(g.ageMs);
      if (!Number.isFinite(ageMs) || ageMs < 0 || ageMs > 3_600_000) return reject('age');
    }
    const known = this.words.get(word);
    return accept({
      type: 'verdict',
      verdict: known ?? 'unknown',
      word,
      recognised: known !== undefined,
      scanId: g.scanId !== undefined && g.scanId.length > 0 ? g.scanId : null,
      imageId: g.imageId !== undefined && g.imageId.length > 0 ? g.imageId : null,
      ageMs,
    });
  }
}
