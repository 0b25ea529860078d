/**
 * OPC UA figures against the simulator process (a real node-opcua server):
 * - opcua_verdict_latency_p50/p99/max_ms: server raises a CT scan-complete event -> the driver
 *   emits the engine signal, 10,000 events in bursts of 50 every 100 ms (env OPCUA_BENCH_BURST,
 *   OPCUA_BENCH_GAP_MS); CLOCK_MONOTONIC is the same in both processes. opcua_verdicts_lost: 0.
 * - opcua_driver_dispatch_p99_ms: the driver's share (publish response -> engine signal).
 * - opcua_publishing_interval_ms: the revised publishing interval of that run.
 * - opcua_rss_delta_mb / opcua_load_ms: RSS and time added by loading the OPC UA driver module
 *   (drivers/kinds.ts alone vs. kinds + the dynamic import of drivers/opcua/opcua-driver.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../edge/clock.js';
import { SIM_NS } from '../../drivers/opcua/signal-mapping.js';
import type { SignalMonitor } from '../../drivers/opcua/signal-monitor.js';
import { makeDriver, node, opcuaConfig } from '../opcua/helpers.js';
import { startSim } from '../opcua/sim-process.js';
import { waitFor } from '../support/wait.js';
import { percentile, type Bench } from './figures.js';

const root = new URL('../../', import.meta.url).pathname;

function rssProbe(withOpcua: boolean): { rssMb: number; loadMs: number } {
  const script = `
    await import(${JSON.stringify(join(root, 'drivers/kinds.ts'))});
    const t = performance.now();
    if (${String(withOpcua)}) await import(${JSON.stringify(join(root, 'drivers/opcua/opcua-driver.ts'))});
    const loadMs = performance.now() - t;
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 200));
    console.log(JSON.stringify({ rssMb: process.memoryUsage().rss / 2 ** 20, loadMs }));
  `;
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: root, encoding: 'utf8' },
  );
  const line =
    out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1) ?? '{}';
  return JSON.parse(line) as { rssMb: number; loadMs: number };
}

const bench: Bench = async ({ quick }) => {
  const runs = quick ? 1 : 3;
  const skipRss = process.env.OPCUA_BENCH_SKIP_RSS === '1';
  const without: number[] = [];
  const withIt: number[] = [];
  const loads: number[] = [];
  for (let i = 0; i < (skipRss ? 0 : runs); i++) {
    without.push(rssProbe(false).rssMb);
    const w = rssProbe(true);
    withIt.push(w.rssMb);
    loads.push(w.loadMs);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;

  const count = quick ? 2000 : 10_000;
  const burst = Number(process.env.OPCUA_BENCH_BURST ?? 50);
  const gapMs = Number(process.env.OPCUA_BENCH_GAP_MS ?? 100);
  const sim = await startSim();
  const dataDir = mkdtempSync(join(tmpdir(), 'opcua-bench-'));
  const { driver } = makeDriver(
    opcuaConfig({
      id: 'opcua-bench',
      kind: 'opcua',
      servers: [
        {
          id: 'ct',
          endpointUrl: sim.endpoint,
          securityMode: 'None',
          signals: [
            { name: 'ct1.verdict', kind: 'ctVerdict', nodeId: node('CT1'), fieldNamespace: SIM_NS },
          ],
        },
      ],
    }),
    dataDir,
  );
  const arrived = new Map<string, number>();
  // the driver's own share: publish response received by node-opcua -> engine signal emitted
  let batchAt = 0;
  const dispatch: number[] = [];
  driver.on('signal', (s) => {
    if (s.type !== 'ctVerdict' || !s.scanId.startsWith('L-')) return;
    const now = systemClock.monoMs();
    arrived.set(s.scanId, now);
    if (batchAt > 0) dispatch.push(now - batchAt);
  });
  try {
    await driver.start();
    await waitFor(() => driver.serverHealth()[0]?.state === 'connected', { timeoutMs: 30_000 });
    // bench-only peek at the subscription (not part of the driver's API)
    const link = (
      driver as unknown as { links: Map<string, { monitor: SignalMonitor }> }
    ).links.get('ct');
    link?.monitor.subscription?.on('received_notifications', () => {
      batchAt = systemClock.monoMs();
    });
    const reply = await sim.command({ cmd: 'verdicts', count, burst, gapMs, prefix: 'L' }, 120_000);
    const emitted = reply.emitMono as number[];
    await waitFor(() => arrived.size >= count, { timeoutMs: 30_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500)); // let duplicates, if any, show up
    const latencies: number[] = [];
    emitted.forEach((at, i) => {
      const got = arrived.get(`L-${i}`);
      if (got !== undefined) latencies.push(got - at);
    });
    latencies.sort((a, b) => a - b);
    const health = driver.serverHealth()[0];
    const interval = health?.revisedPublishingIntervalMs ?? NaN;
    const cond = `${count} events, bursts of ${burst} every ${gapMs} ms, simulator on the same 2-core machine`;
    return {
      opcua_verdict_latency_p50_ms: {
        value: round(percentile(latencies, 0.5)),
        unit: 'ms',
        note: cond,
      },
      opcua_verdict_latency_p99_ms: {
        value: round(percentile(latencies, 0.99)),
        unit: 'ms',
        note: `server emit -> driver signal; goal <= publishing interval + 5 ms; ${cond}`,
      },
      opcua_verdict_latency_max_ms: {
        value: round(latencies.at(-1) ?? NaN),
        unit: 'ms',
        note: cond,
      },
      opcua_driver_dispatch_p99_ms: {
        value: round(
          percentile(
            [...dispatch].sort((a, b) => a - b),
            0.99,
          ),
        ),
        unit: 'ms',
        note: `publish response received -> engine signal emitted, every event of a burst (the driver's share; goal <= 2 ms); ${cond}`,
      },
      opcua_verdicts_lost: {
        value: count - latencies.length,
        unit: 'events',
        note: `goal 0; queue overflows reported: ${health?.overflows ?? '?'}`,
      },
      opcua_publishing_interval_ms: {
        value: interval,
        unit: 'ms',
        note: 'revised by the server (node-opcua minimum 50 ms); the driver requests the fastest',
      },
      opcua_rss_without_mb: {
        value: round(median(without)),
        unit: 'MB',
        note: 'drivers/kinds.ts loaded, no OPC UA',
      },
      opcua_rss_with_mb: {
        value: round(median(withIt)),
        unit: 'MB',
        note: 'plus the OPC UA driver module',
      },
      opcua_rss_delta_mb: {
        value: round(median(withIt) - median(without)),
        unit: 'MB',
        note: `RSS added by loading the OPC UA driver (node-opcua-client), median of ${runs}`,
      },
      opcua_load_ms: {
        value: round(median(loads)),
        unit: 'ms',
        note: 'dynamic import of the driver module (tsx)',
      },
    };
  } finally {
    await driver.stop();
    await sim.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default bench;
