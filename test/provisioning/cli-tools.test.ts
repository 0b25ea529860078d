import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryIo } from '../../edge/cli/io.js';
import { runCli } from '../../edge/cli/main.js';
import { hashPassword, verifyPassword } from '../../edge/cli/password.js';
import { opcuaApplicationUri } from '../../edge/cli/pki.js';
import { UserDirectory } from '../../edge/http/auth.js';

/**
 * The CLI's smaller commands against real files: users (the hashes edge/http/auth.ts verifies,
 * comments kept, the last admin kept), the MQTT certificate installed only when it matches the
 * key and verifies against the CA (a real openssl CA), the OPC UA applicationUri node-opcua's
 * client presents, the support bundle without secrets, and the CLI as its own process.
 */
const root = new URL('../../', import.meta.url).pathname;
let base: string;
let configFile: string;
const ADMIN_PASSWORD = 'first-gate-pass';

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'edge-cli-'));
  configFile = join(base, 'etc/gateway.yaml');
  const io = memoryIo({ stdin: ADMIN_PASSWORD });
  const code = await runCli(
    [
      'init',
      ...['--site', 'site-c', '--gateway', 'gw-c', '--config-dir', join(base, 'etc')],
      ...['--data-dir', join(base, 'data'), '--password-stdin', '--no-opcua-cert'],
    ],
    io,
  );
  expect(io.errors).toEqual([]);
  expect(code).toBe(0);
}, 60_000);
afterAll(() => rmSync(base, { recursive: true, force: true }));

function usersOf(file: string) {
  return (
    parseDocument(readFileSync(file, 'utf8')).getIn(['http', 'users']) as {
      toJSON(): Array<{
        name: string;
        role: 'admin' | 'viewer' | 'inspector' | 'technician';
        passwordHash?: string;
        password?: string;
      }>;
    }
  ).toJSON();
}

describe('customs-edge user', () => {
  it('stores scrypt hashes the gateway verifies; passwd replaces a plain password; the last admin stays', async () => {
    const add = memoryIo({ stdin: 'inspector-pass-7\n' });
    expect(
      await runCli(
        ['user', 'add', 'insp1', '--role', 'inspector', '--password-stdin', '--config', configFile],
        add,
      ),
    ).toBe(0);
    // a plain password written by hand is replaced by a hash
    const doc = parseDocument(readFileSync(configFile, 'utf8'));
    (doc.getIn(['http', 'users']) as { add(v: unknown): void }).add(
      doc.createNode({ name: 'old', role: 'viewer', password: 'plain-text-pw' }),
    );
    writeFileSync(configFile, doc.toString());
    const passwd = memoryIo({ stdin: 'viewer-pass-2' });
    expect(
      await runCli(['user', 'passwd', 'old', '--password-stdin', '--config', configFile], passwd),
    ).toBe(0);

    const users = usersOf(configFile);
    expect(users.map((u) => [u.name, u.role])).toEqual([
      ['admin', 'admin'],
      ['insp1', 'inspector'],
      ['old', 'viewer'],
    ]);
    expect(users.find((u) => u.name === 'old')).not.toHaveProperty('password');
    const directory = new UserDirectory(users);
    expect(await directory.verify('admin', ADMIN_PASSWORD)).toEqual({
      name: 'admin',
      role: 'admin',
    });
    expect(await directory.verify('insp1', 'inspector-pass-7')).toEqual({
      name: 'insp1',
      role: 'inspector',
    });
    expect(await directory.verify('old', 'viewer-pass-2')).toEqual({ name: 'old', role: 'viewer' });
    expect(await directory.verify('old', 'plain-text-pw')).toBeNull();
    expect(readFileSync(configFile, 'utf8')).toContain('# fail-safe: the straight-through end');

    const list = memoryIo();
    expect(await runCli(['user', 'list', '--config', configFile], list)).toBe(0);
    expect(list.lines.join('\n')).toMatch(/insp1 +inspector +hash/);

    const last = memoryIo();
    expect(await runCli(['user', 'remove', 'admin', '--config', configFile], last)).toBe(2);
    expect(last.errors.join('\n')).toContain('last admin');
    const short = memoryIo({ stdin: 'short' });
    expect(
      await runCli(
        ['user', 'add', 'x', '--role', 'viewer', '--password-stdin', '--config', configFile],
        short,
      ),
    ).toBe(2);
    expect(short.errors.join('\n')).toContain('too short');
    expect(await runCli(['user', 'remove', 'insp1', '--config', configFile], memoryIo())).toBe(0);
    expect(usersOf(configFile).map((u) => u.name)).toEqual(['admin', 'old']);
  });

  it('hashes in the format edge/http/auth.ts writes', async () => {
    const salt = Buffer.alloc(16, 7);
    const { hashPassword: authHash } = await import('../../edge/http/auth.js');
    expect(await hashPassword('same-password', salt)).toBe(await authHash('same-password', salt));
    expect(await verifyPassword('same-password', await hashPassword('same-password'))).toBe(true);
  });
});

describe('customs-edge cert install (real openssl CA)', () => {
  it('installs only a certificate signed from this key that verifies against the CA', async () => {
    const pki = join(base, 'ca');
    execFileSync('mkdir', ['-p', pki]);
    const openssl = (...args: string[]) =>
      execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '30',
      '-subj',
      '/CN=platform test CA',
    );
    const csr = join(base, 'etc/pki/mqtt/client.csr');
    writeFileSync(join(pki, 'ext.cnf'), 'extendedKeyUsage=clientAuth\n');
    openssl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'signed.pem',
      '-days',
      '20',
      '-extfile',
      'ext.cnf',
    );
    // a certificate for another key, from the same CA
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'other.key',
      '-out',
      'other.csr',
      '-subj',
      '/CN=gw-c',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      'other.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'other.pem',
      '-days',
      '20',
    );
    // and one from another CA
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'rogue.key',
      '-out',
      'rogue.pem',
      '-days',
      '30',
      '-subj',
      '/CN=rogue CA',
    );

    const wrongKey = memoryIo();
    expect(
      await runCli(
        [
          'cert',
          'install',
          join(pki, 'other.pem'),
          '--ca',
          join(pki, 'ca.pem'),
          '--config',
          configFile,
        ],
        wrongKey,
      ),
    ).toBe(1);
    expect(wrongKey.errors.join('\n')).toContain('does not match');
    const wrongCa = memoryIo();
    expect(
      await runCli(
        [
          'cert',
          'install',
          join(pki, 'signed.pem'),
          '--ca',
          join(pki, 'rogue.pem'),
          '--config',
          configFile,
        ],
        wrongCa,
      ),
    ).toBe(1);
    expect(wrongCa.errors.join('\n')).toContain('does not verify');
    expect(
      parseDocument(readFileSync(configFile, 'utf8')).getIn(['uplink', 'tls']),
    ).toBeUndefined();

    const ok = memoryIo();
    expect(
      await runCli(
        [
          'cert',
          'install',
          join(pki, 'signed.pem'),
          '--ca',
          join(pki, 'ca.pem'),
          '--config',
          configFile,
        ],
        ok,
      ),
    ).toBe(0);
    expect(ok.errors.join('\n')).toContain('expires in'); // 20 days: warned
    const tls = (
      parseDocument(readFileSync(configFile, 'utf8')).getIn(['uplink', 'tls']) as {
        toJSON(): unknown;
      }
    ).toJSON();
    expect(tls).toEqual({
      cert: join(base, 'etc/pki/mqtt/client.crt'),
      key: join(base, 'etc/pki/mqtt/client.key'),
      ca: join(base, 'etc/pki/mqtt/ca.crt'),
    });
    // check reads the installed certificate's dates
    const check = memoryIo();
    await runCli(['check', '--config', configFile, '--offline'], check);
    expect(check.lines.join('\n')).toMatch(/^WARN +mqtt-cert .*expires in (19|20) days/m);
  });
});

describe('OPC UA applicationUri', () => {
  it("is the one node-opcua's client builds (short and long names)", async () => {
    const { makeApplicationUrn } = await import('node-opcua-client');
    const longHost = 'raspberrypi-customs-line-7-erenhot-inspection-hall.example.local';
    for (const host of [hostname(), longHost]) {
      expect(opcuaApplicationUri('customs-edge-gateway', host)).toBe(
        makeApplicationUrn(host, 'customs-edge-gateway'),
      );
    }
  }, 60_000);
});

describe('customs-edge diag', () => {
  it('bundles health, checks, files and the configuration without secrets', async () => {
    const out = join(base, 'diag');
    execFileSync('mkdir', ['-p', out]);
    const io = memoryIo();
    expect(
      await runCli(
        [
          'diag',
          '--config',
          configFile,
          '--out',
          out,
          '--health-url',
          'http://127.0.0.1:1/api/health',
        ],
        io,
      ),
    ).toBe(0);
    const [archive] = readdirSync(out);
    const listed = execFileSync('tar', ['-tzf', join(out, archive!)], { encoding: 'utf8' });
    for (const f of [
      'summary.txt',
      'health.json',
      'config.yaml',
      'check.txt',
      'logs.txt',
      'files.txt',
    ])
      expect(listed).toContain(`/${f}`);
    const all = execFileSync('tar', ['-xzOf', join(out, archive!)], { encoding: 'utf8' });
    expect(all).not.toMatch(/scrypt\$|PRIVATE KEY/);
    expect(all).toContain('[redacted]');
  }, 60_000);
});

describe('the CLI as a program', () => {
  it('runs from its entry file, reads a piped password, refuses bad usage with exit 2', () => {
    const cli = (args: string[], input?: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(root, 'edge/cli/main.ts'), ...args], {
        cwd: root,
        encoding: 'utf8',
        ...(input !== undefined ? { input } : {}),
      });
    expect(cli(['version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const add = cli(
      ['user', 'add', 'piped', '--role', 'viewer', '--password-stdin', '--config', configFile],
      'pipe-in-password-1\n',
    );
    expect(add.status).toBe(0);
    expect(
      new UserDirectory(usersOf(configFile)).verify('piped', 'pipe-in-password-1'),
    ).not.toBeNull();
    const bad = cli(['user', 'add', 'x', '--rolle', 'admin']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--rolle'");
    const noTty = cli(['user', 'add', 'y', '--role', 'viewer', '--config', configFile], '');
    expect(noTty.status).toBe(2);
    expect(noTty.stderr).toContain('--password-stdin');
  }, 60_000);
});
