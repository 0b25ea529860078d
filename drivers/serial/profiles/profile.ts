import type { Frame } from '../framers.js';

/** A device profile turns one frame into a typed reading, or a counted reject. Never throws. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Profile<T> {
  readonly name: string;
  parse(frame: Frame): ParseResult<T>;
}

export function reject<T>(reason: string): ParseResult<T> {
  return { ok: false, reason };
}

export function accept<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

/** Printable text of a frame payload: latin1, trimmed; null when it holds control bytes. */
export function frameText(payload: Buffer, trim = true): string | null {
  const text = trim ? payload.toString('latin1').trim() : payload.toString('latin1');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return null;
  }
  return text;
}

/**
 * Compile a configured regular expression once, at driver creation; a bad pattern is a
 * configuration error reported with the offending text.
 */
export function compilePattern(source: string, what: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new Error(`${what}: invalid regular expression ${JSON.stringify(source)}`, {
      cause: err,
    });
  }
}
