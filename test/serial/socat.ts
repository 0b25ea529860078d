import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PtyPair } from '../../drivers/serial/sim/pty-pair.js';
import type { SerialPortSettings } from '../../drivers/serial/port.js';

/**
 * Test helper: a real socat pty pair in a temp dir. `driverEnd` is what the driver under test
 * opens, `deviceEnd` is where a simulator writes. `unplug()` kills socat (SIGKILL), `replug()`
 * starts it again on the same paths. `cleanup()` stops socat and removes the dir.
 */
export interface TestLine {
  pair: PtyPair;
  dir: string;
  driverEnd: string;
  deviceEnd: string;
  unplug(): Promise<void>;
  replug(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startPtyPair(name = 'line'): Promise<TestLine> {
  const dir = mkdtempSync(join(tmpdir(), 'serial-test-'));
  const driverEnd = join(dir, `${name}-driver`);
  const deviceEnd = join(dir, `${name}-device`);
  const pair = new PtyPair(driverEnd, deviceEnd);
  await pair.start(15_000);
  return {
    pair,
    dir,
    driverEnd,
    deviceEnd,
    unplug: () => pair.kill(),
    replug: () => pair.start(15_000),
    cleanup: async () => {
      await pair.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function portSettings(path: string, baudRate = 9600): SerialPortSettings {
  return { path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' };
}

export const silentLog = pino({ level: 'silent' });
