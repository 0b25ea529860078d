/**
 * gate_controller_safe_at_start: start the gateway (production build, the simulated line with
 * its simulated GPIO gate controller) 50 times (--quick: 10) on a loaded machine (a CPU burner
 * per core, on top of whatever else runs) and count the starts in which the gate controller went
 * safe for lack of the gateway's heartbeat between its fork and ~2 s after "gateway running".
 * Goal 0: a gateway that is still starting is not a hung gateway (issue 14).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../support/mosquitto.js';
import type { Bench } from './figures.js';

const root = new URL('../../', import.meta.url).pathname;

interface LogLine {
  msg?: string;
  reason?: string;
  module?: string;
}

function burners(n: number): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
  );
}

/** The gateway being started (killed with the burners if the run is interrupted). */
let current: ChildProcess | null = null;

/** One start: true when the controller went safe for lack of heartbeat during start-up. */
async function oneStart(file: string): Promise<{ safe: boolean; startMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist/edge/main.js'), '--config', file], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  current = child;
  let safe = false;
  let runningAt: number | null = null;
  let buffer = '';
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      if (line.msg === 'gateway running') runningAt = performance.now();
      if (line.msg === 'gate controller safe' && /heartbeat/.test(line.reason ?? '')) safe = true;
    }
  });
  try {
    const deadline = performance.now() + 60_000;
    while (runningAt === null) {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
      if (performance.now() > deadline) throw new Error('gateway did not start in 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const startMs = runningAt - started;
    // a stall at the very end of start-up shows a little later
    await new Promise((r) => setTimeout(r, 2000));
    return { safe, startMs };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

const bench: Bench = async ({ quick }) => {
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const starts = quick ? 10 : 50;
  const dir = mkdtempSync(join(tmpdir(), 'edge-gate-start-'));
  const doc = parse(readFileSync(join(root, 'config/examples/simulated-line.yaml'), 'utf8'));
  doc.dataDir = join(dir, 'data');
  doc.log = { level: 'info', pretty: false };
  doc.http.port = 0;
  doc.embeddedBroker.port = await freePort();
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, stringify(doc));
  const load = burners(availableParallelism());
  // the burners must not outlive an interrupted run
  const killLoad = (): void => {
    for (const b of load) b.kill('SIGKILL');
    current?.kill('SIGKILL');
  };
  process.once('SIGTERM', () => {
    killLoad();
    process.exit(143);
  });
  process.once('SIGINT', () => {
    killLoad();
    process.exit(130);
  });
  let safeStarts = 0;
  const times: number[] = [];
  try {
    for (let i = 0; i < starts; i++) {
      const r = await oneStart(file);
      if (r.safe) safeStarts++;
      times.push(r.startMs);
      process.stderr.write(
        `start ${i + 1}/${starts}: ${Math.round(r.startMs)} ms${r.safe ? ' SAFE' : ''}\n`,
      );
    }
  } finally {
    killLoad();
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  return {
    gate_controller_safe_at_start: {
      value: safeStarts,
      unit: 'starts',
      note: `starts (of ${starts}, ${load.length} CPU burners running) in which the gate controller went safe for lack of the gateway's heartbeat between its fork and 2 s after "gateway running"; goal 0. Start to "gateway running": median ${Math.round(times[Math.floor(times.length / 2)] ?? NaN)} ms, max ${Math.round(times.at(-1) ?? NaN)} ms`,
    },
  };
};

export default bench;
