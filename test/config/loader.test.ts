import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, resolveSecrets } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { EdgeError } from '../../edge/errors.js';

const example = readFileSync(
  new URL('../../config/examples/simulated-line.yaml', import.meta.url),
  'utf8',
);

function writeTemp(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'edge-config-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, text);
  return file;
}

function load(text: string, env: NodeJS.ProcessEnv = {}) {
  return loadConfigFile(writeTemp(text), {
    driverKinds: driverKindSchemas(),
    secrets: { env, readFile: (p) => readFileSync(p, 'utf8').trim() },
  });
}

function issuesOf(fn: () => unknown): {
  code: string;
  details: { path: string; message: string }[];
} {
  try {
    fn();
  } catch (err) {
    if (err instanceof EdgeError)
      return { code: err.code, details: err.details as { path: string; message: string }[] };
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('configuration loader', () => {
  it('loads the example that npm start uses, with defaults filled', () => {
    const { config } = load(example);
    expect(config.gateway.id).toBe('gw-demo-01');
    expect(config.uplink.inFlightWindow).toBe(100);
    expect(config.gates.outputs[0]?.pulseMs).toBe(300);
    expect(config.http.users.find((u) => u.name === 'operator')?.password).toBe('customs-demo');
  });

  it('lists every error of a broken file with its path, not just the first', () => {
    const broken = example
      .replace('beltSpeedMmPerS: 1000', 'beltSpeedMmPerS: -5')
      .replace('port: 8080', 'port: 99999')
      .replace('protocolVersion: 4', 'protocolVersion: 3')
      .replace('  site: demo-site\n', '  site: demo-site\n  colour: blue\n')
      .replace('parcelsPerMinute: 90', 'parcelsPerMinute: "fast"')
      .replace(
        '    - { id: gate-pass, pin: 27, pulseMs: 300 }\n',
        '    - { id: gate-pass, pulseMs: 300 }\n',
      );
    const { code, details } = issuesOf(() => load(broken));
    expect(code).toBe('EDGE_CONFIG_INVALID');
    const paths = details.map((d) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/line/beltSpeedMmPerS',
        '/http/port',
        '/uplink/protocolVersion',
        '/gateway/colour',
        '/gates/outputs/1/pin',
        '/drivers/0/parcelsPerMinute',
      ]),
    );
    expect(details.find((d) => d.path === '/gateway/colour')?.message).toBe('unknown property');
    expect(details.find((d) => d.path === '/gates/outputs/1/pin')?.message).toBe('is required');
  });

  it('a missing configuration file is a clear EDGE_ error naming the file and what to do', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'edge-config-')), 'absent.yaml');
    const { code, details } = issuesOf(() =>
      loadConfigFile(file, { driverKinds: driverKindSchemas() }),
    );
    expect(code).toBe('EDGE_CONFIG_NOT_FOUND');
    expect(details[0]).toEqual({ path: file, message: 'does not exist' });
    expect(() => loadConfigFile(file, { driverKinds: driverKindSchemas() })).toThrow(
      /absent\.yaml does not exist: pass --config <file> or set EDGE_CONFIG/,
    );
  });

  it('reports YAML syntax errors with line and column', () => {
    const { code, details } = issuesOf(() => load('version: 1\ngateway: { id: x\nline: [\n'));
    expect(code).toBe('EDGE_CONFIG_PARSE');
    expect(details[0]?.path).toMatch(/gateway\.yaml:\d+:\d+$/);
  });

  it('rejects a configuration that would make the pass lane the straight-through one (fail-safe)', () => {
    const unsafe = example
      .replace('    pass: { gate: gate-pass, positionMm: 8000 }', '    pass: { positionMm: 9000 }')
      .replace(
        '    inspection: { positionMm: 9000 }',
        '    inspection: { gate: gate-pass, positionMm: 8000 }',
      );
    const { details } = issuesOf(() => load(unsafe));
    expect(details.map((d) => d.path)).toEqual(
      expect.arrayContaining(['/line/lanes/pass/gate', '/line/lanes/inspection/gate']),
    );
  });

  it('rejects geometry that leaves no time for a CT verdict, with the numbers', () => {
    const tight = example.replace(
      'ct: { positionMm: 2000, toleranceMm: 200 }',
      'ct: { positionMm: 6800, toleranceMm: 200 }',
    );
    const { details } = issuesOf(() => load(tight));
    const issue = details.find((d) => d.path === '/line/ct/positionMm');
    expect(issue?.message).toMatch(/CT at 6800 mm, first diverter at 7000 mm/);
  });

  it('two outputs on one GPIO pin are rejected before anything starts', () => {
    const text = example.replace('- { id: gate-pass, pin: 27,', '- { id: gate-pass, pin: 17,');
    const { details } = issuesOf(() => load(text));
    expect(details.map((d) => d.message).join('\n')).toMatch(
      /BCM pin 17 is already used by 'gate-exception'/,
    );
  });

  it('unknown driver kinds and duplicate ids are errors', () => {
    const text = example.replace(
      'drivers:\n',
      'drivers:\n  - { id: sim-line, kind: warp-drive }\n',
    );
    const { details } = issuesOf(() => load(text));
    expect(details.map((d) => d.message).join('\n')).toMatch(/unknown driver kind 'warp-drive'/);
    expect(details.map((d) => d.message).join('\n')).toMatch(/duplicate driver id 'sim-line'/);
  });

  it('takes secrets from environment variables and files, and names a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-secret-'));
    writeFileSync(join(dir, 'pw'), 'from-a-file-123\n');
    const { doc, issues } = resolveSecrets(
      {
        password: '${env:EDGE_A}',
        token: ['${file:' + join(dir, 'pw') + '}'],
        secret: '${env:EDGE_MISSING}',
        passphrase: '${env:EDGE_MISSING:-fallback}',
      },
      { env: { EDGE_A: 'secret-a' }, readFile: (p) => readFileSync(p, 'utf8').trim() },
    );
    expect(doc).toEqual({
      password: 'secret-a',
      token: ['from-a-file-123'],
      secret: '',
      passphrase: 'fallback',
    });
    expect(issues).toEqual([
      { path: '/secret', message: 'environment variable EDGE_MISSING is not set' },
    ]);
  });

  it('migrates a version 0 file after backing it up', () => {
    const v0 = example
      .replace('version: 1\n', '')
      .replace('beltSpeedMmPerS: 1000', 'speedMps: 1.5');
    const file = writeTemp(v0);
    const loaded = loadConfigFile(file, {
      driverKinds: driverKindSchemas(),
      persistMigration: true,
      secrets: { env: {}, readFile: () => '' },
    });
    expect(loaded.migratedFrom).toBe(0);
    expect(loaded.config.line.beltSpeedMmPerS).toBe(1500);
    expect(loaded.backupPath).not.toBeNull();
    expect(readFileSync(loaded.backupPath!, 'utf8')).toBe(v0);
    expect(readFileSync(file, 'utf8')).toMatch(/^version: 1$/m);
    expect(readdirSync(join(file, '..')).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
  });

  it('refuses a file from a newer gateway', () => {
    const { code } = issuesOf(() => load(example.replace('version: 1', 'version: 99')));
    expect(code).toBe('EDGE_CONFIG_MIGRATION');
  });
});
