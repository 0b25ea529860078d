import type { Frame } from '../framers.js';
import { toKg } from './units.js';
import { accept, reject, type ParseResult, type Profile } from './profile.js';

/**
 * Toledo continuous output (about 7 frames per second):
 *   STX, status words A B C, 6 weight digits, 6 tare digits, CR, optional checksum byte
 * Checksum: the 2's complement of the 7-bit sum of STX..CR, so all bytes sum to 0 (mod 128).
 * Status A bits 0-2: decimal point position; B bit 0 net, bit 1 negative, bit 2 out of range,
 * bit 3 motion, bit 4 kg (else lb), bit 6 not ready; C bits 0-2: unit override (1 g, 2 t, 3 oz).
 * Framed by StartEndFramer(STX, CR, trailer 1 when the checksum is on).
 */
export type ToledoReading = {
  type: 'weight';
  status: 'stable' | 'dynamic' | 'overload' | 'underload' | 'error';
  /** null when out of range or not ready */
  kg: number | null;
  tareKg: number | null;
  net: boolean;
  unit: string;
};

export const STX = 0x02;
export const CR = 0x0d;
const FRAME_LEN = 17; // STX + 3 + 6 + 6 + CR

/** decimal point position (status A bits 0-2) -> multiplier */
const SCALE = [100, 10, 1, 0.1, 0.01, 0.001, 0.0001, 0.00001] as const;

export function toledoChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum += b;
  return (128 - (sum & 0x7f)) & 0x7f;
}

function digits(raw: Buffer, from: number): number | null {
  let v = 0;
  let seen = false;
  for (let i = from; i < from + 6; i++) {
    const c = raw[i] as number;
    if (c >= 0x30 && c <= 0x39) {
      v = v * 10 + (c - 0x30);
      seen = true;
    } else if (c === 0x20 && !seen) {
      continue; // leading blanks
    } else {
      return null;
    }
  }
  return seen ? v : null;
}

function statusOk(b: number): boolean {
  return (b & 0x20) !== 0 && (b & 0x80) === 0;
}

export class ToledoProfile implements Profile<ToledoReading> {
  readonly name = 'toledo-continuous';

  constructor(private readonly checksum: boolean) {}

  parse(frame: Frame): ParseResult<ToledoReading> {
    const raw = frame.raw;
    if (raw.length !== FRAME_LEN + (this.checksum ? 1 : 0)) return reject('length');
    if (raw[0] !== STX || raw[FRAME_LEN - 1] !== CR) return reject('framing');
    if (this.checksum && toledoChecksum(raw.subarray(0, FRAME_LEN)) !== raw[FRAME_LEN])
      return reject('checksum');
    const a = raw[1] as number;
    const b = raw[2] as number;
    const c = raw[3] as number;
    if (!statusOk(a) || !statusOk(b) || !statusOk(c)) return reject('status');
    const weight = digits(raw, 4);
    const tare = digits(raw, 10);
    if (weight === null || tare === null) return reject('digits');
    const factor = SCALE[a & 0x07] ?? 1;
    const unitCode = c & 0x07;
    const unit =
      unitCode === 1 ? 'g' : unitCode === 2 ? 't' : unitCode === 3 ? 'oz' : b & 0x10 ? 'kg' : 'lb';
    if (unitCode > 3) return reject('unit');
    const negative = (b & 0x02) !== 0;
    const net = (b & 0x01) !== 0;
    const round = (v: number) => Math.round(v * 1e6) / 1e6;
    const value = round(weight * factor) * (negative ? -1 : 1);
    const tareKg = toKg(round(tare * factor), unit);
    if (b & 0x40) return accept({ type: 'weight', status: 'error', kg: null, tareKg, net, unit });
    if (b & 0x04) {
      const status = negative ? 'underload' : 'overload';
      return accept({ type: 'weight', status, kg: null, tareKg, net, unit });
    }
    const status = b & 0x08 ? 'dynamic' : 'stable';
    return accept({ type: 'weight', status, kg: toKg(value, unit), tareKg, net, unit });
  }
}

/** Build one Toledo continuous frame (simulator and tests). */
export function encodeToledo(o: {
  value: number;
  tare?: number;
  decimals?: number;
  kg?: boolean;
  net?: boolean;
  motion?: boolean;
  outOfRange?: boolean;
  notReady?: boolean;
  checksum: boolean;
}): Buffer {
  const decimals = o.decimals ?? 2;
  const dp = 2 + decimals; // SCALE index
  const a = 0x20 | (dp & 0x07) | (1 << 3); // increment size x1
  let b = 0x20;
  if (o.net) b |= 0x01;
  if (o.value < 0) b |= 0x02;
  if (o.outOfRange) b |= 0x04;
  if (o.motion) b |= 0x08;
  if (o.kg ?? true) b |= 0x10;
  if (o.notReady) b |= 0x40;
  const c = 0x20;
  const field = (v: number) =>
    String(Math.min(999_999, Math.round(Math.abs(v) * 10 ** decimals))).padStart(6, '0');
  const body = Buffer.concat([
    Buffer.from([STX, a, b, c]),
    Buffer.from(field(o.value) + field(o.tare ?? 0), 'latin1'),
    Buffer.from([CR]),
  ]);
  return o.checksum ? Buffer.concat([body, Buffer.from([toledoChecksum(body)])]) : body;
}
