import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleGateway, controllerPrefix } from '../../provisioning/bundle.js';
import { freePort } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * The production bundle (what the systemd unit runs) starts the whole gateway: the forked gate
 * controller is found where controller-launch.ts resolves it, the external modules load from
 * node_modules, health answers and the controller arms. Bundled into the repository (so
 * node_modules resolves), under .tmp/.
 */
const root = new URL('../../', import.meta.url).pathname;
const out = join(root, '.tmp', `bundle-test-${process.pid}`);
const dirs: string[] = [out];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('production bundle', () => {
  it('runs the gateway and its gate controller from dist-like files', async () => {
    const bundle = await bundleGateway({ root, outdir: out });
    expect(bundle.controller).toBe(
      join(out, `${controllerPrefix(root)}gate-controller-process.js`),
    );

    const dir = mkdtempSync(join(tmpdir(), 'edge-bundle-'));
    dirs.push(dir);
    const doc = parse(readFileSync(join(root, 'config/examples/simulated-line.yaml'), 'utf8'));
    const port = await freePort();
    doc.dataDir = join(dir, 'data');
    doc.log = { level: 'info', pretty: false };
    doc.http.port = port;
    doc.embeddedBroker.port = await freePort();
    writeFileSync(join(dir, 'gateway.yaml'), stringify(doc));
    const child = spawn(process.execPath, [bundle.gateway, '--config', join(dir, 'gateway.yaml')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`bundle exited ${child.exitCode}: ${log}`);
          try {
            return (await fetch(`http://127.0.0.1:${port}/api/health`)).ok;
          } catch {
            return false;
          }
        },
        { timeoutMs: 60_000, what: 'health from the bundled gateway' },
      );
      await waitFor(() => log.includes('"msg":"gate controller armed"'), {
        timeoutMs: 30_000,
        what: 'the bundled gate controller armed',
      });
      expect(log).not.toContain('Cannot find module');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  }, 120_000);
});
