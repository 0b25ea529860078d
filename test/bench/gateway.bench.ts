/**
 * Gateway process figures: cold_start_ms (process start -> /api/health answers) and
 * steady_rss_mb (RSS of the gateway after 60 s of the simulated line at 20 parcels/s), measured
 * on the production build (node dist/bundle/gateway.js; built first).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../support/mosquitto.js';
import type { Bench } from './figures.js';

const root = new URL('../../', import.meta.url).pathname;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const bench: Bench = async ({ quick }) => {
  // always the current sources: a stale dist/ would measure (or fail on) old code
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'edge-bench-'));
  const doc = parse(readFileSync(join(root, 'config/examples/simulated-line.yaml'), 'utf8'));
  const httpPort = await freePort();
  doc.dataDir = join(dir, 'data');
  doc.log = { level: 'warn', pretty: false };
  doc.http.port = httpPort;
  doc.embeddedBroker.port = await freePort();
  doc.line.beltSpeedMmPerS = 5000;
  // the simulator keeps >= 120 mm between parcels; at 5 m/s a gate 24 ms late is 120 mm off
  doc.line.minGapMm = 120;
  doc.gates.maxLateMs = 24;
  Object.assign(doc.drivers[0], {
    parcelsPerMinute: 1200,
    parcelLengthMm: { min: 100, max: 150 },
    verdictDelayMs: { min: 20, max: 300 },
  });
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, stringify(doc));

  const started = performance.now();
  // the production entry (provisioning/bundle.ts; the systemd unit runs it)
  const child = spawn(process.execPath, [join(root, 'dist/bundle/gateway.js'), '--config', file], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  try {
    let coldStartMs = NaN;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/api/health`);
        if (res.ok) {
          coldStartMs = performance.now() - started;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const steadyS = quick ? 10 : 60;
    // RSS swings by ~30 MB with the V8 heap's grow/shrink cycle (heapTotal 35-70 MB on this
    // workload): one sample at the end is bimodal. Sample every second over the second half.
    const samples: number[] = [];
    const startedSteady = performance.now();
    while (performance.now() - startedSteady < steadyS * 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      if (performance.now() - startedSteady >= (steadyS * 1000) / 2)
        samples.push(rssMb(child.pid!));
    }
    samples.sort((a, b) => a - b);
    const median = samples[Math.floor(samples.length / 2)] ?? NaN;
    const max = samples.at(-1) ?? NaN;
    // the details (engine, outbox counters) are for a technician
    const tech = `Basic ${Buffer.from('technician:technician-demo').toString('base64')}`;
    const health = (await (
      await fetch(`http://127.0.0.1:${httpPort}/api/health/details`, {
        headers: { authorization: tech },
      })
    ).json()) as {
      engine: { decisions: number };
      outbox: { pending: number; appended: number };
    };
    const controllerRss = childPids(child.pid!)
      .map(rssMb)
      .reduce((a, b) => a + b, 0);
    return {
      cold_start_ms: {
        value: Math.round(coldStartMs),
        unit: 'ms',
        note: 'spawn of node dist/bundle/gateway.js until GET /api/health answers 200 (no CPU quota; cold_start_pi_budget_ms: the same in 35 % of one core)',
      },
      steady_rss_mb: {
        value: Math.round(median * 10) / 10,
        unit: 'MB',
        note: `gateway main process RSS, median of ${samples.length} samples (1/s) over the second half of ${steadyS} s at 20 parcels/s (${health.engine.decisions} decisions, ${health.outbox.appended} events, ${health.outbox.pending} pending)`,
      },
      steady_rss_max_mb: {
        value: Math.round(max * 10) / 10,
        unit: 'MB',
        note: 'the largest of those samples (the V8 heap at the top of its grow/shrink cycle)',
      },
      gate_controller_rss_mb: {
        value: Math.round(controllerRss * 10) / 10,
        unit: 'MB',
        note: 'the forked gate-controller process',
      },
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
