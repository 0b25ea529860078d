import type { Frame } from '../framers.js';
import { toKg } from './units.js';
import { accept, frameText, reject, type ParseResult, type Profile } from './profile.js';

/**
 * Mettler Toledo MT-SICS responses to the S (stable weight) and SI (weight immediately)
 * commands, one per CR LF frame:
 *   S S     12.34 kg   stable          S D     12.30 kg   dynamic (in motion)
 *   S +                overload        S -                underload
 *   S I                command not executable (busy)
 *   ES / ET / EL       syntax / transmission / logical error
 */
export type MtSicsReading =
  | { type: 'weight'; status: 'stable' | 'dynamic'; kg: number; value: number; unit: string }
  | { type: 'overload' }
  | { type: 'underload' }
  | { type: 'busy' }
  | { type: 'error'; code: 'ES' | 'ET' | 'EL' };

const WEIGHT = /^S\s+([SD])\s+(-?\d+(?:\.\d+)?)\s+([a-z]{1,3})$/;
const STATUS = /^S\s+([+\-I])$/;

export class MtSicsProfile implements Profile<MtSicsReading> {
  readonly name = 'mt-sics';

  parse(frame: Frame): ParseResult<MtSicsReading> {
    const text = frameText(frame.payload);
    if (text === null) return reject('control-bytes');
    if (text === 'ES' || text === 'ET' || text === 'EL')
      return accept({ type: 'error', code: text });
    const w = WEIGHT.exec(text);
    if (w) {
      const value = Number(w[2]);
      const unit = w[3] ?? '';
      const kg = toKg(value, unit);
      if (kg === null) return reject('unit');
      return accept({
        type: 'weight',
        status: w[1] === 'S' ? 'stable' : 'dynamic',
        kg,
        value,
        unit,
      });
    }
    const s = STATUS.exec(text);
    if (s) {
      if (s[1] === '+') return accept({ type: 'overload' });
      if (s[1] === '-') return accept({ type: 'underload' });
      return accept({ type: 'busy' });
    }
    return reject(text.length === 0 ? 'empty' : 'unrecognised');
  }
}

/** The poll commands MT-SICS scales understand for a weight. */
export const MT_SICS_COMMANDS = { stable: 'S', immediate: 'SI' } as const;
