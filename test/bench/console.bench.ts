/**
 * Technician console figures:
 * - ui_bundle_gzip_kb: everything the console can load, gzipped as served (and
 *   ui_initial_gzip_kb: what the first page needs; the config editor's CodeMirror comes later);
 * - ui_first_paint_ms: cold load of the overview in Debian's Chromium (fresh browser context, no
 *   cache, logged-in session) until the belt shows parcels, on the simulated line at 20 parcels/s;
 * - steady_rss_ui_mb: gateway RSS while that overview stays open (its live line stream at 4/s),
 *   sampled like gateway.bench's steady_rss_mb (median of 1/s samples over the second half);
 *   steady_rss_no_ui_mb: the same gateway, same line, sampled the same way BEFORE anyone logs in
 *   (after a warm-up of the same length),
 *   and steady_rss_ui_delta_mb the difference (side by side in one run: the figure that says what
 *   serving the console costs). The gateway runs with the environment of the systemd unit
 *   (MALLOC_MMAP_THRESHOLD_, provisioning/customs-edge.service).
 * Production build (node dist/edge/main.js; built first).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { parse, stringify } from 'yaml';
import { buildConsole } from '../../edge/console-build.js';
import { freePort } from '../support/mosquitto.js';
import type { Bench } from './figures.js';

const root = new URL('../../', import.meta.url).pathname;

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

const bench: Bench = async ({ quick }) => {
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const built = await buildConsole();
  const dir = mkdtempSync(join(tmpdir(), 'edge-console-bench-'));
  const doc = parse(readFileSync(join(root, 'config/examples/simulated-line.yaml'), 'utf8'));
  const port = await freePort();
  doc.dataDir = join(dir, 'data');
  doc.log = { level: 'warn', pretty: false };
  doc.http.port = port;
  doc.embeddedBroker.port = await freePort();
  doc.line.beltSpeedMmPerS = 5000;
  // the late-fire bound (config/safety-bounds.ts): 20 ms late at 5 m/s is line.minGapMm's 100 mm
  doc.gates.maxLateMs = 20;
  Object.assign(doc.drivers[0], {
    parcelsPerMinute: 1200,
    parcelLengthMm: { min: 100, max: 150 },
    verdictDelayMs: { min: 20, max: 300 },
  });
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, stringify(doc));
  const child = spawn(process.execPath, [join(root, 'dist/edge/main.js'), '--config', file], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    // as the systemd unit runs it: scrypt's 16 MB login buffers are returned to the system
    env: { ...process.env, NODE_ENV: 'production', MALLOC_MMAP_THRESHOLD_: '131072' },
  });
  const base = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
      const ok = await fetch(`${base}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const steadyS = quick ? 10 : 60;
    /** median of 1/s RSS samples over the second half of steadyS */
    const steadyRss = async (): Promise<{ median: number; n: number }> => {
      const samples: number[] = [];
      const started = performance.now();
      while (performance.now() - started < steadyS * 1000) {
        await new Promise((r) => setTimeout(r, 1000));
        if (performance.now() - started >= (steadyS * 1000) / 2) samples.push(rssMb(child.pid!));
      }
      samples.sort((a, b) => a - b);
      return { median: samples[Math.floor(samples.length / 2)] ?? NaN, n: samples.length };
    };
    await steadyRss(); // warm-up: the first minute's RSS includes start-up allocations
    const noUi = await steadyRss();
    // the control: the same minute again with nothing changed (RSS drifts as the stores grow)
    const noUiAgain = await steadyRss();
    const login = await fetch(`${base}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'technician', password: 'technician-demo' }),
    });
    const token = /edge_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1] ?? '';
    const loggedIn = await steadyRss(); // a session (scrypt done), no page open yet
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addCookies([{ name: 'edge_session', value: token, url: base }]);
    const page = await context.newPage();
    await page.goto(`${base}/#/overview`, { waitUntil: 'commit' });
    await page.waitForSelector('svg.belt rect.parcel', { timeout: 30_000 });
    // ms since the navigation started, read in the page when the belt shows parcels
    const firstPaintMs = await page.evaluate<number>('performance.now()');
    const ui = await steadyRss();
    const round = (mb: number) => Math.round(mb * 10) / 10;
    await context.close();
    return {
      ui_bundle_gzip_kb: {
        value: built.gzipKb,
        unit: 'kB',
        note: 'the whole console gzipped as served: page, script, style, the config editor chunk (CodeMirror)',
      },
      ui_initial_gzip_kb: {
        value: built.initialGzipKb,
        unit: 'kB',
        note: 'what the first page loads (CodeMirror only when the config page opens)',
      },
      ui_first_paint_ms: {
        value: Math.round(firstPaintMs),
        unit: 'ms',
        note: 'Chromium, fresh context (no cache), logged in: navigation start until the overview shows parcels on the belt (simulated line, 20 parcels/s)',
      },
      steady_rss_ui_mb: {
        value: round(ui.median),
        unit: 'MB',
        note: `gateway RSS with a login and the overview open (live line stream), median of ${ui.n} samples over the second half of ${steadyS} s at 20 parcels/s`,
      },
      steady_rss_login_mb: {
        value: round(loggedIn.median),
        unit: 'MB',
        note: 'after a login (scrypt) and before any page opens, sampled the same way: splits the delta between the login and the live page',
      },
      steady_rss_no_ui_mb: {
        value: round(noUi.median),
        unit: 'MB',
        note: `the same gateway before anyone logged in, sampled the same way just before`,
      },
      steady_rss_no_ui_drift_mb: {
        value: round(noUiAgain.median - noUi.median),
        unit: 'MB',
        note: 'the control: the next minute without the console minus the first one (drift with nothing changed)',
      },
      steady_rss_ui_delta_mb: {
        value: round(ui.median - noUiAgain.median),
        unit: 'MB',
        note: 'what serving the console costs (goal: within 10 MB)',
      },
    };
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
