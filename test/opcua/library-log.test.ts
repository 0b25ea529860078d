import { Writable } from 'node:stream';
import { make_warningLog } from 'node-opcua-client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { libraryText, routeNodeOpcuaLogs } from '../../drivers/opcua/library-log.js';

/** node-opcua's own warnings reach pino as JSON lines, blobs cut, repeats counted. */
describe('node-opcua logs through pino', () => {
  it('a node-opcua warning is one JSON line of module node-opcua; a certificate blob is cut', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    routeNodeOpcuaLogs(pino({ level: 'info' }, sink));
    const warn = make_warningLog('test');
    const blob = Buffer.alloc(1500, 7).toString('base64');
    warn('server certificate', blob, 'not trusted');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ module: 'node-opcua', level: 40 });
    expect(lines[0]!.msg).toBe('server certificate [2000 chars cut] not trusted');
    expect(String(lines[0]!.source)).toMatch(/^library-log\.test:\d+$/);

    // the same source line 2,000 times: the first 20, then one line every 500 with the count
    for (let i = 0; i < 2000; i++) warn('again', i);
    const again = lines.filter((l) => String(l.msg).startsWith('again'));
    expect(again.length).toBeLessThanOrEqual(25);
    expect(again.at(-1)).toHaveProperty('repeated');
  });

  it('colours go, long text is capped', () => {
    expect(libraryText(['\u001b[33mwarning\u001b[39m'])).toBe('warning');
    expect(libraryText(['x '.repeat(3000)]).length).toBeLessThan(2100);
  });
});
