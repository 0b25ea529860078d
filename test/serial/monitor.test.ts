import { describe, expect, it } from 'vitest';
import { FrameMonitor, printable } from '../../drivers/serial/monitor.js';

describe('FrameMonitor', () => {
  it('keeps the last N entries, oldest first, as hex and printable text', () => {
    const m = new FrameMonitor(3);
    for (let i = 0; i < 5; i++)
      m.add(Date.UTC(2026, 0, 1) + i, 'rx', 'frame', Buffer.from(`F${i}\r\n`));
    m.add(Date.UTC(2026, 0, 1), 'rx', 'reject', Buffer.from([0, 0x5c, 0xff]), 'oversize');
    const last = m.last();
    expect(last.map((e) => e.text)).toEqual(['F3\\r\\n', 'F4\\r\\n', '\\x00\\x5c\\xff']);
    expect(last[2]).toMatchObject({ kind: 'reject', reason: 'oversize', hex: '005cff', bytes: 3 });
    expect(m.last(1)).toHaveLength(1);
    expect(m.last(0)).toEqual([]);
  });

  it('keeps the tail of every byte read, across wrap-around and oversized chunks', () => {
    const m = new FrameMonitor(1, 8);
    expect(m.tail()).toEqual(Buffer.alloc(0));
    m.addBytes(Buffer.from('abc'));
    expect(m.tail().toString()).toBe('abc');
    m.addBytes(Buffer.from('defgh'));
    m.addBytes(Buffer.from('ij'));
    expect(m.tail().toString()).toBe('cdefghij');
    m.addBytes(Buffer.from('0123456789xyz'));
    expect(m.tail().toString()).toBe('56789xyz');
  });

  it('printable escapes control bytes and the backslash', () => {
    expect(printable(Buffer.from('a\\b\x02\r\n'))).toBe('a\\x5cb\\x02\\r\\n');
  });
});
