import type { LineSignal } from '../../drivers/driver.js';
import type { SerialBarcodeConfig } from '../../drivers/serial/config.js';
import type { SerialDriver } from '../../drivers/serial/serial-driver.js';
import { waitFor } from '../support/wait.js';
import { portSettings, startPtyPair, type TestLine } from './socat.js';

/** Shared pieces of the pty tests: pty pairs and drivers cleaned up after each test. */

export const reconnect = { initialMs: 50, maxMs: 400, pathPollMs: 50 };
export const port = (path: string) => ({ ...portSettings(path) });

export function ptyHarness() {
  const cleanups: (() => Promise<void>)[] = [];
  return {
    cleanups,
    async cleanup(): Promise<void> {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    },
    async line(): Promise<TestLine> {
      const l = await startPtyPair();
      cleanups.push(() => l.cleanup());
      return l;
    },
    /** start a driver, collecting its signals from the first one */
    async started(driver: SerialDriver): Promise<{ driver: SerialDriver; signals: LineSignal[] }> {
      cleanups.push(() => driver.stop());
      const signals: LineSignal[] = [];
      driver.on('signal', (s) => signals.push(s));
      await driver.start();
      await waitFor(() => driver.health().details.link === 'open', { what: 'port open' });
      return { driver, signals };
    },
  };
}

export function barcodeConfig(
  path: string,
  extra: Partial<SerialBarcodeConfig> = {},
): SerialBarcodeConfig {
  return {
    id: 'scanner-1',
    kind: 'serial-barcode',
    port: port(path),
    reconnect,
    monitorFrames: 50,
    pattern: '^(?<code>[\\x21-\\x7e]+)$',
    noRead: ['NOREAD', 'NR', '?'],
    noReadStatuses: [],
    identifiers: {
      s10: true,
      carriers: [{ name: 'sf', pattern: 'SF\\d{12}' }],
      acceptUnmatched: false,
    },
    ...extra,
  };
}

export const barcodes = (signals: LineSignal[]) =>
  signals.flatMap((s) => (s.type === 'barcode' ? [{ code: s.code, valid: s.valid }] : []));
