import { make_errorLog, make_warningLog } from 'node-opcua-debug';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { routeNodeOpcuaLogs } from '../../drivers/opcua/console-log.js';

/** node-opcua's console output goes through pino (the same log and the console's log view). */
describe('node-opcua log routing', () => {
  it('warnings and errors node-opcua prints arrive as pino lines without colour codes', () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    routeNodeOpcuaLogs(log);
    make_warningLog('test')('\x1b[33msession\x1b[39m', 'closed', 42);
    make_errorLog('test')('certificate rejected');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        module: 'node-opcua',
        msg: expect.stringContaining('session closed 42'),
      }),
      expect.objectContaining({
        level: 50,
        module: 'node-opcua',
        msg: expect.stringContaining('certificate rejected'),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('\\u001b');
  });
});
