import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startMosquitto } from '../support/mosquitto.js';
import type { Bench } from './figures.js';

/**
 * backlog_drain_ratio: a backlog of 1,000,000 stored events (an outage) drained to a real
 * Mosquitto at QoS 1, in events/s, divided by the live end-to-end rate measured in the same
 * process (goal >= 0.7); backlog_peak_rss_mb: that process's peak RSS while building and draining
 * (goal <= 200 MB). The process runs with --max-old-space-size=64, as on a Pi. `quick`: 100,000.
 */
const CHILD = fileURLToPath(new URL('../uplink/fixtures/backlog-child.ts', import.meta.url));

interface Result {
  liveEventsPerS: number;
  drainPerS: number;
  peakRssMb: number;
  buildS: number;
  fileMb: number;
}

const bench: Bench = async ({ quick }) => {
  const backlog = quick ? 100_000 : 1_000_000;
  const broker = await startMosquitto();
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--max-old-space-size=64',
          '--import',
          'tsx',
          CHILD,
          broker.url,
          String(backlog),
          String(quick ? 20_000 : 50_000),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`backlog child exited ${code}`)),
      );
    });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as Result;
    const conditions = `${backlog} events (~${Math.round(r.fileMb)} MB SQLite, built in ${r.buildS.toFixed(1)} s), local Mosquitto 2.0.11, MQTT 5, window 100`;
    return {
      backlog_drain_events_per_s: {
        value: Math.round(r.drainPerS),
        unit: 'events/s',
        note: `stored backlog -> QoS 1 PUBACK; ${conditions}`,
      },
      backlog_live_events_per_s: {
        value: Math.round(r.liveEventsPerS),
        unit: 'events/s',
        note: 'live end-to-end rate in the same process (the ratio denominator)',
      },
      backlog_drain_ratio: {
        value: Math.round((r.drainPerS / r.liveEventsPerS) * 100) / 100,
        unit: 'ratio',
        note: `drain rate / live rate (goal >= 0.7); ${conditions}`,
      },
      backlog_peak_rss_mb: {
        value: Math.round(r.peakRssMb),
        unit: 'MB',
        note: `peak RSS of the measured process (tsx loader included, --max-old-space-size=64); goal <= 200; ${conditions}`,
      },
    };
  } finally {
    await broker.stop();
  }
};
export default bench;
