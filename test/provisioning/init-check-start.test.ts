import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../edge/cli/main.js';
import { memoryIo } from '../../edge/cli/io.js';
import { freePort } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * A new gateway in temporary folders: `init` from the simulated example line (password piped),
 * `check` passes, and the gateway starts from exactly the files init wrote (only the two ports
 * moved to free ones, for tests running side by side): health answers, the admin's hash logs
 * in, the gate controller arms.
 */
const root = new URL('../../', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PASSWORD = 'line-7-gate-keeper';

describe('init -> check -> start (temporary folders)', () => {
  it('init writes a configuration, key, CSR and OPC UA certificate that check and the gateway accept', async () => {
    const base = mkdtempSync(join(tmpdir(), 'edge-init-'));
    dirs.push(base);
    const configDir = join(base, 'etc');
    const dataDir = join(base, 'data');
    const init = memoryIo({ stdin: `${PASSWORD}\n` });
    const code = await runCli(
      [
        'init',
        '--site',
        'erenhot-1',
        '--gateway',
        'gw-line-3',
        '--config-dir',
        configDir,
        '--data-dir',
        dataDir,
        '--password-stdin',
      ],
      init,
    );
    expect(init.errors).toEqual([]);
    expect(code).toBe(0);
    const configFile = join(configDir, 'gateway.yaml');
    const doc = parseDocument(readFileSync(configFile, 'utf8'));
    expect(doc.getIn(['gateway', 'id'])).toBe('gw-line-3');
    expect(doc.getIn(['gateway', 'site'])).toBe('erenhot-1');
    expect(doc.get('dataDir')).toBe(dataDir);
    const users = doc.getIn(['http', 'users']) as { toJSON(): unknown };
    expect(users.toJSON()).toEqual([
      {
        name: 'admin',
        role: 'admin',
        passwordHash: expect.stringMatching(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/),
      },
    ]);
    expect(readFileSync(configFile, 'utf8')).not.toContain(PASSWORD);
    // the example's comments are kept, its demo users gone
    expect(readFileSync(configFile, 'utf8')).toContain('# fail-safe: the straight-through end');
    expect(readFileSync(configFile, 'utf8')).not.toContain('customs-demo');
    // the example's demo command key (its private half is public) is not pinned at a real line
    expect(doc.getIn(['uplink', 'commands', 'signing', 'keys'])).toMatchObject({ items: [] });
    expect(readFileSync(configFile, 'utf8')).not.toContain(
      'MCowBQYDK2VwAyEAQHgAdPA31ZttLScSztxRORxfaz8',
    );
    expect(statSync(join(configDir, 'pki/mqtt/client.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(configDir, 'pki/mqtt/client.csr'), 'utf8')).toContain(
      'BEGIN CERTIFICATE REQUEST',
    );
    expect(existsSync(join(dataDir, 'pki/opcua/own/certs/client_certificate.pem'))).toBe(true);
    expect(statSync(join(configDir, 'secrets.env')).mode & 0o777).toBe(0o600);

    // a second init refuses to overwrite the running gateway's configuration
    const again = memoryIo({ stdin: `${PASSWORD}\n` });
    expect(
      await runCli(
        ['init', '--site', 's', '--gateway', 'g', '--config-dir', configDir, '--password-stdin'],
        again,
      ),
    ).toBe(2);
    expect(again.errors.join('\n')).toContain('exists');

    const check = memoryIo();
    const checkCode = await runCli(['check', '--config', configFile, '--offline'], check);
    const lines = check.lines.join('\n');
    expect(lines).toMatch(/^ok +config +.*valid: gateway gw-line-3/m);
    expect(lines).toMatch(/^ok +users +1 user\(s\), 1 admin/m);
    expect(lines).toMatch(/^ok +data-dir /m);
    expect(lines).toMatch(/^ok +addons +native addons load/m);
    expect(lines).toMatch(/^ready: \d+ checks, 0 failed/m);
    expect(checkCode).toBe(0);

    // the gateway from what init wrote; only the ports move to free ones
    const httpPort = await freePort();
    doc.setIn(['http', 'port'], httpPort);
    doc.setIn(['embeddedBroker', 'port'], await freePort());
    writeFileSync(configFile, doc.toString());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'edge/main.ts'), '--config', configFile],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_ENV: 'production' },
      },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      const health = await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}: ${out}`);
          try {
            const res = await fetch(`http://127.0.0.1:${httpPort}/api/health`);
            return res.ok ? ((await res.json()) as { gatewayId: string }) : null;
          } catch {
            return null;
          }
        },
        { timeoutMs: 60_000, what: 'health of the gateway init configured' },
      );
      expect(health.gatewayId).toBe('gw-line-3');
      const auth = (password: string) => ({
        authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`,
      });
      const details = await fetch(`http://127.0.0.1:${httpPort}/api/health/details`, {
        headers: auth(PASSWORD),
      });
      expect(details.status).toBe(200);
      const wrong = await fetch(`http://127.0.0.1:${httpPort}/api/health/details`, {
        headers: auth('not-the-password'),
      });
      expect(wrong.status).toBe(401);
      await waitFor(() => out.includes('"msg":"gate controller armed"'), {
        timeoutMs: 30_000,
        what: 'gate controller armed',
      });
      expect(existsSync(join(dataDir, 'outbox.sqlite'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 180_000);
});
