import { describe, expect, it } from 'vitest';
import {
  DelimiterFramer,
  FixedLengthFramer,
  InterByteTimeoutFramer,
  StartEndFramer,
  type Framer,
  type FramerEvent,
} from '../../drivers/serial/framers.js';
import { buildFramer, delimiterBytes } from '../../drivers/serial/framing.js';

const b = (s: string) => Buffer.from(s, 'latin1');

function run(framer: Framer, chunks: (string | Buffer)[], now = 0) {
  const out: FramerEvent[] = [];
  for (const c of chunks) framer.push(typeof c === 'string' ? b(c) : c, now, out);
  return {
    frames: out.flatMap((e) => (e.type === 'frame' ? [e.frame.payload.toString('latin1')] : [])),
    rejects: out.flatMap((e) => (e.type === 'reject' ? [e.reason] : [])),
    out,
  };
}

function balanced(f: Framer): void {
  const s = f.stats;
  expect(s.bytesIn).toBe(s.frameBytes + s.discardedBytes + f.buffered);
}

describe('DelimiterFramer', () => {
  it('cuts CR LF frames split across pushes and several per push', () => {
    const f = new DelimiterFramer(b('\r\n'), 16);
    const r = run(f, ['AB', 'C\r', '\nDEF\r\nGH\r\n', 'I']);
    expect(r.frames).toEqual(['ABC', 'DEF', 'GH']);
    expect(f.buffered).toBe(1);
    balanced(f);
  });

  it('a lone CR inside a CR LF frame is payload; CR CR LF ends with the last two', () => {
    const f = new DelimiterFramer(b('\r\n'), 16);
    expect(run(f, ['A\rB\r\r\n']).frames).toEqual(['A\rB\r']);
  });

  it('rejects an oversized frame once and discards up to the next delimiter', () => {
    const f = new DelimiterFramer(b('\n'), 4);
    const r = run(f, ['1234\n', '12345', '6789\nOK\n']);
    expect(r.frames).toEqual(['1234', 'OK']);
    expect(r.rejects).toEqual(['oversize']);
    expect(f.stats.rejected).toBe(1);
    expect(f.stats.discardedBytes).toBe(10);
    balanced(f);
  });

  it('control-byte noise before a frame is discarded and counted; the frame survives whole', () => {
    const f = new DelimiterFramer(b('\r\n'), 32);
    const noise = Buffer.from([0x00, 0x13, 0x1b, 0x7f, 0x02, 0x11]);
    const r = run(f, [noise, 'RR100000017CN\r\n', Buffer.from([0x00, 0x00]), 'AB\x01C\r\n']);
    // the control byte inside the second frame stays: the profile decides what it means
    expect(r.frames).toEqual(['RR100000017CN', 'AB\x01C']);
    expect(f.stats.leadingNoiseBytes).toBe(8);
    expect(r.rejects).toEqual([]);
    balanced(f);
    // CR LF alone is still an empty frame, not noise
    const g = new DelimiterFramer(b('\r\n'), 32);
    run(g, ['\r\n\x00\r\n']);
    expect(g.stats.emptyFrames).toBe(2);
    expect(g.stats.leadingNoiseBytes).toBe(1);
    balanced(g);
  });

  it('counts empty frames as discarded, not as frames', () => {
    const f = new DelimiterFramer(b('\r\n'), 8);
    const r = run(f, ['\r\n\r\nA\r\n']);
    expect(r.frames).toEqual(['A']);
    expect(f.stats.emptyFrames).toBe(2);
    balanced(f);
  });

  it('named delimiters and hex', () => {
    expect([...delimiterBytes('etx')]).toEqual([3]);
    expect([...delimiterBytes('hex:0d0a')]).toEqual([13, 10]);
    expect(() => delimiterBytes('tab')).toThrow(/unknown delimiter/);
  });
});

describe('StartEndFramer', () => {
  it('STX..ETX with noise between frames discarded and counted', () => {
    const f = new StartEndFramer(2, 3, 16);
    const r = run(f, [b('xx\x02AB'), b('C\x03yy\x02D\x03')]);
    expect(r.frames).toEqual(['ABC', 'D']);
    expect(f.stats.discardedBytes).toBe(4);
    balanced(f);
  });

  it('a new STX interrupts an unfinished frame; oversize is rejected', () => {
    const f = new StartEndFramer(2, 3, 3);
    const r = run(f, [b('\x02AB\x02CD\x03\x02ABCDE\x03\x02X\x03')]);
    expect(r.frames).toEqual(['CD', 'X']);
    expect(r.rejects).toEqual(['interrupted', 'oversize']);
    balanced(f);
  });

  it('collects trailer bytes after the end byte, whatever they are', () => {
    const f = new StartEndFramer(2, 13, 20, 1);
    const r = run(f, [b('\x02AB\r\x02'), b('\x02C\r\r')]);
    expect(r.frames).toEqual(['AB', 'C']);
    expect([...r.out.flatMap((e) => (e.type === 'frame' ? [e.frame.trailer[0]] : []))]).toEqual([
      2, 13,
    ]);
    balanced(f);
  });
});

describe('FixedLengthFramer', () => {
  it('without sync: every N bytes', () => {
    const f = new FixedLengthFramer(3);
    expect(run(f, ['ABCD', 'EFG']).frames).toEqual(['ABC', 'DEF']);
    balanced(f);
  });

  it('with a start byte: noise before it is discarded', () => {
    const f = new FixedLengthFramer(3, 0x40);
    expect(run(f, ['xx@AB', 'y@CD']).frames).toEqual(['@AB', '@CD']);
    expect(f.stats.discardedBytes).toBe(3);
    balanced(f);
  });
});

describe('InterByteTimeoutFramer', () => {
  it('ends a frame after the gap; flush at the deadline', () => {
    const f = new InterByteTimeoutFramer(20, 8);
    const out: FramerEvent[] = [];
    f.push(b('AB'), 0, out);
    f.push(b('C'), 10, out);
    expect(out).toEqual([]);
    expect(f.deadline()).toBe(30);
    f.flush(29, out);
    expect(out).toEqual([]);
    f.flush(30, out);
    f.push(b('D'), 100, out);
    f.push(b('E'), 200, out); // the gap before E ends D
    const frames = out.flatMap((e) => (e.type === 'frame' ? [e.frame.payload.toString()] : []));
    expect(frames).toEqual(['ABC', 'D']);
    expect(f.buffered).toBe(1);
    balanced(f);
  });

  it('oversize rejects and discards until the next gap', () => {
    const f = new InterByteTimeoutFramer(20, 4);
    const out: FramerEvent[] = [];
    f.push(b('123456'), 0, out);
    f.push(b('78'), 5, out);
    f.flush(100, out);
    f.push(b('OK'), 101, out);
    f.flush(200, out);
    expect(out.map((e) => (e.type === 'frame' ? e.frame.payload.toString() : e.reason))).toEqual([
      'oversize',
      'OK',
    ]);
    expect(f.stats.discardedBytes).toBe(8);
    balanced(f);
  });
});

describe('buildFramer', () => {
  it('rejects inconsistent settings with EDGE_SERIAL_CONFIG', () => {
    expect(() => buildFramer({ type: 'fixed', maxFrameBytes: 10 }, 'd1')).toThrow(/needs length/);
    expect(() =>
      buildFramer({ type: 'stx-etx', start: 5, end: 5, maxFrameBytes: 10 }, 'd1'),
    ).toThrow(expect.objectContaining({ code: 'EDGE_SERIAL_CONFIG' }) as Error);
    expect(() => buildFramer({ type: 'inter-byte-timeout', maxFrameBytes: 10 }, 'd1')).toThrow(
      /gapMs/,
    );
  });
});
