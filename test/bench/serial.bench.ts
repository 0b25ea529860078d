import { pino } from 'pino';
import { systemClock } from '../../edge/clock.js';
import { makeS10 } from '../../edge/identifiers/s10.js';
import type { LineSignal } from '../../drivers/driver.js';
import type { SerialBarcodeConfig, SerialDriverConfig } from '../../drivers/serial/config.js';
import { serialDevice } from '../../drivers/serial/devices.js';
import { buildFramer } from '../../drivers/serial/framing.js';
import { FrameMonitor } from '../../drivers/serial/monitor.js';
import { SerialPipeline, type PipelineItem } from '../../drivers/serial/pipeline.js';
import { nodeSerialBinding } from '../../drivers/serial/port.js';
import { encodeToledo } from '../../drivers/serial/profiles/toledo.js';
import { SerialDriver } from '../../drivers/serial/serial-driver.js';
import { ScannerSimulator } from '../../drivers/serial/sim/scanner-sim.js';
import { portSettings, startPtyPair } from '../serial/socat.js';
import { percentile, type Bench, type Figures } from './figures.js';

/**
 * Serial driver figures:
 *  - pipeline throughput per profile (framer + profile + monitor + signal mapping, one thread);
 *  - pty latency: a simulator writes one barcode frame, the driver emits the barcode signal;
 *  - unplug detection (kill socat -> disconnect in health) and replug (socat back -> port open)
 *    with the default reconnect settings (backoff 250 ms initial, path poll 250 ms).
 */

const log = pino({ level: 'silent' });
const port = portSettings('/dev/null');
const reconnect = { initialMs: 250, maxMs: 10_000, pathPollMs: 250 };

function pipelineCases(): { name: string; config: SerialDriverConfig; wire: Buffer[] }[] {
  const common = { port, reconnect, monitorFrames: 100 };
  const codes = Array.from({ length: 64 }, (_, i) =>
    Buffer.from(`${makeS10('RD', String(22347000 + i), 'CN')}\r\n`),
  );
  return [
    {
      name: 'barcode',
      config: {
        ...common,
        id: 'bc',
        kind: 'serial-barcode',
        pattern: '^(?<code>[\\x21-\\x7e]+)$',
        noRead: ['NOREAD'],
        noReadStatuses: [],
        identifiers: { s10: true, carriers: [], acceptUnmatched: false },
      },
      wire: codes,
    },
    {
      name: 'mt_sics',
      config: {
        ...common,
        id: 'mt',
        kind: 'serial-mt-sics',
        polling: { command: 'SI', intervalMs: 100, timeoutMs: 100, retries: 0 },
        emit: 'every',
        testCommands: [],
      },
      wire: Array.from({ length: 64 }, (_, i) =>
        Buffer.from(`S S ${(i * 0.37).toFixed(3).padStart(10)} kg\r\n`),
      ),
    },
    {
      name: 'toledo',
      config: {
        ...common,
        id: 'tol',
        kind: 'serial-toledo',
        checksum: true,
        emit: 'every',
        silenceTimeoutMs: 1000,
      },
      wire: Array.from({ length: 64 }, (_, i) => encodeToledo({ value: i * 0.25, checksum: true })),
    },
    {
      name: 'ct_alarm',
      config: {
        ...common,
        id: 'ct',
        kind: 'serial-ct-alarm',
        scanToLineMs: 0,
      },
      wire: Array.from({ length: 64 }, (_, i) =>
        Buffer.from(`S-${i};${i % 5 ? 'NO_ALARM' : 'ALARM'};IMG-${i}\r\n`),
      ),
    },
  ];
}

function pipelineThroughput(quick: boolean): Figures {
  const figures: Figures = {};
  const frames = quick ? 200_000 : 1_000_000;
  for (const c of pipelineCases()) {
    const device = serialDevice(c.config);
    const pipeline = new SerialPipeline(
      buildFramer(device.framing, c.config.id),
      device.profile,
      new FrameMonitor(100),
    );
    const chunk = Buffer.concat(
      Array.from({ length: 16 }, (_, i) => c.wire[i % c.wire.length] as Buffer),
    );
    const items: PipelineItem<unknown>[] = [];
    const rounds = Math.ceil(frames / 16);
    const started = performance.now();
    for (let r = 0; r < rounds; r++) {
      pipeline.ingest(chunk, 0, 0, items);
      for (const item of items) if (item.result.ok) device.signals(item.result.value, 'bench', 0);
      items.length = 0;
    }
    const s = (performance.now() - started) / 1000;
    if (pipeline.stats().accepted !== rounds * 16) throw new Error(`${c.name}: frames rejected`);
    figures[`serial_pipeline_${c.name}_frames_per_s`] = {
      value: Math.round((rounds * 16) / s),
      unit: 'frames/s',
      note: `framer + profile + monitor + signal mapping, 16 frames per read, one thread; ${rounds * 16} frames`,
    };
  }
  return figures;
}

async function ptyFigures(quick: boolean): Promise<Figures> {
  const line = await startPtyPair('bench');
  const config: SerialBarcodeConfig = {
    id: 'scanner-bench',
    kind: 'serial-barcode',
    port: portSettings(line.driverEnd),
    reconnect,
    monitorFrames: 100,
    pattern: '^(?<code>[\\x21-\\x7e]+)$',
    noRead: ['NOREAD'],
    noReadStatuses: [],
    identifiers: { s10: true, carriers: [], acceptUnmatched: false },
  };
  const driver = new SerialDriver(config, { log, clock: systemClock });
  let waiter: ((s: LineSignal) => void) | null = null;
  driver.on('signal', (s) => waiter?.(s));
  const until = async (what: string, probe: () => boolean, timeoutMs = 20_000) => {
    const end = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > end) throw new Error(`timeout: ${what}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const sim = new ScannerSimulator(portSettings(line.deviceEnd), nodeSerialBinding);
  try {
    await driver.start();
    await until('open', () => driver.health().details.link === 'open');
    await sim.open();
    const samples: number[] = [];
    const n = quick ? 50 : 500;
    for (let i = 0; i < n; i++) {
      const got = new Promise<void>((resolve) => {
        waiter = (s) => {
          if (s.type === 'barcode') resolve();
        };
      });
      const t0 = performance.now();
      await sim.sendRead();
      await got;
      samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    const figures: Figures = {
      serial_pty_read_latency_p50_ms: {
        value: Number(percentile(samples, 0.5).toFixed(3)),
        unit: 'ms',
        note: `simulator write of one CR LF barcode frame over a socat pty -> barcode signal; ${n} samples`,
      },
      serial_pty_read_latency_p99_ms: {
        value: Number(percentile(samples, 0.99).toFixed(3)),
        unit: 'ms',
        note: 'same samples, 99th percentile',
      },
    };
    await sim.close();

    const detect: number[] = [];
    const reopen: number[] = [];
    const cycles = quick ? 2 : 5;
    for (let i = 0; i < cycles; i++) {
      const before = driver.health().counters.disconnects ?? 0;
      const t0 = performance.now();
      await line.unplug();
      await until('disconnect', () => (driver.health().counters.disconnects ?? 0) > before);
      detect.push(performance.now() - t0);
      await line.replug();
      const t1 = performance.now();
      await until('reopen', () => driver.health().details.link === 'open');
      reopen.push(performance.now() - t1);
    }
    detect.sort((a, b) => a - b);
    reopen.sort((a, b) => a - b);
    figures.serial_unplug_detect_max_ms = {
      value: Number((detect.at(-1) ?? NaN).toFixed(1)),
      unit: 'ms',
      note: `kill -9 socat -> driver health shows the disconnect; worst of ${cycles}`,
    };
    figures.serial_replug_reopen_median_ms = {
      value: Number(percentile(reopen, 0.5).toFixed(1)),
      unit: 'ms',
      note: `socat back (links exist) -> port open again, default backoff 250 ms / path poll 250 ms; ${cycles} cycles`,
    };
    figures.serial_replug_reopen_max_ms = {
      value: Number((reopen.at(-1) ?? NaN).toFixed(1)),
      unit: 'ms',
      note: 'same cycles, worst; goal: under 1 s with the defaults',
    };
    return figures;
  } finally {
    await sim.close().catch(() => undefined);
    await driver.stop();
    await line.cleanup();
  }
}

const bench: Bench = async ({ quick }) => ({
  ...pipelineThroughput(quick),
  ...(await ptyFigures(quick)),
});

export default bench;
