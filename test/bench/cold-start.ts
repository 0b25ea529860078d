/**
 * One cold start of the production build, watched from outside: process spawn until
 * GET /api/health answers 200 (the line runs), until the gate controller first reports armed
 * (it arms on the gateway's heartbeats), how often it went safe during start-up, and the CPU
 * time the gateway and its gate controller used until health answered.
 */
import { spawn } from 'node:child_process';
import { cpuMsOfTree, type CpuBudget } from './cpu-quota.js';

export interface ColdStart {
  healthMs: number;
  /** first "gate controller armed" log line */
  armedMs: number;
  /** "gate controller safe" lines until 2 s after health answered */
  safeTrips: number;
  safeReasons: string[];
  /** CPU time of the gateway + gate controller until health answered */
  cpuMs: number;
}

export async function coldStart(o: {
  root: string;
  main: string;
  config: string;
  healthUrl: string;
  /** node flags before the script (the systemd unit's --max-old-space-size...) */
  nodeArgs?: readonly string[];
  budget?: CpuBudget;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<ColdStart> {
  const command = [process.execPath, ...(o.nodeArgs ?? []), o.main, '--config', o.config];
  const { file, args } = o.budget
    ? o.budget.wrap(command)
    : { file: command[0]!, args: command.slice(1) };
  const started = performance.now();
  const child = spawn(file, args, {
    cwd: o.root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production', ...o.env },
  });
  let armedMs = NaN;
  const safeReasons: string[] = [];
  let healthMs = NaN;
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { msg?: string; reason?: string };
        if (entry.msg === 'gate controller armed' && Number.isNaN(armedMs))
          armedMs = performance.now() - started;
        if (entry.msg === 'gate controller safe' && (Number.isNaN(healthMs) || safeWindow()))
          safeReasons.push(entry.reason ?? '?');
      } catch {
        /* not a log line */
      }
    }
  });
  const safeWindow = () => performance.now() - started < healthMs + 2000;
  const deadline = started + (o.timeoutMs ?? 120_000);
  try {
    let cpuMs = NaN;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
      if (performance.now() > deadline) throw new Error('gateway did not answer health in time');
      try {
        const res = await fetch(o.healthUrl);
        if (res.ok) {
          healthMs = performance.now() - started;
          cpuMs = cpuMsOfTree(child.pid!);
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    // safe trips right after the start (the gateway's first seconds of running)
    await new Promise((r) => setTimeout(r, 2000));
    return { healthMs, armedMs, safeTrips: safeReasons.length, safeReasons, cpuMs };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r(null);
      else child.once('exit', r);
    });
  }
}
