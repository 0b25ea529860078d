import { EdgeError } from '../../edge/errors.js';
import type { FramingConfig } from './config.js';
import {
  DelimiterFramer,
  FixedLengthFramer,
  InterByteTimeoutFramer,
  StartEndFramer,
  type Framer,
} from './framers.js';

/** Build a framer from configuration; inconsistent settings are EDGE_SERIAL_CONFIG errors. */

export const STX = 0x02;
export const ETX = 0x03;

const DELIMITERS: Readonly<Record<string, readonly number[]>> = {
  crlf: [0x0d, 0x0a],
  cr: [0x0d],
  lf: [0x0a],
  etx: [ETX],
};

export function delimiterBytes(spec: string): Buffer {
  const named = DELIMITERS[spec];
  if (named) return Buffer.from(named);
  const m = /^hex:((?:[0-9a-fA-F]{2}){1,8})$/.exec(spec);
  if (!m?.[1]) throw new EdgeError('EDGE_SERIAL_CONFIG', `unknown delimiter '${spec}'`);
  return Buffer.from(m[1], 'hex');
}

export function buildFramer(f: FramingConfig, driverId: string): Framer {
  const bad = (message: string) =>
    new EdgeError('EDGE_SERIAL_CONFIG', `driver ${driverId}: framing: ${message}`);
  const max = f.maxFrameBytes;
  switch (f.type) {
    case 'delimiter':
      return new DelimiterFramer(delimiterBytes(f.delimiter ?? 'crlf'), max);
    case 'stx-etx': {
      const start = f.start ?? STX;
      const end = f.end ?? ETX;
      if (start === end) throw bad('start and end bytes must differ');
      return new StartEndFramer(start, end, max, f.trailerBytes ?? 0);
    }
    case 'fixed':
      if (f.length === undefined) throw bad("'fixed' needs length");
      return new FixedLengthFramer(f.length, f.start ?? null);
    case 'inter-byte-timeout':
      if (f.gapMs === undefined) throw bad("'inter-byte-timeout' needs gapMs");
      return new InterByteTimeoutFramer(f.gapMs, max);
  }
  throw bad(`unknown framing type`);
}
