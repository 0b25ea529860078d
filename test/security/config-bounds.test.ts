import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidator, loadConfigFile } from '../../config/loader.js';
import { scrubSecrets, secretValues } from '../../config/secret-scrub.js';
import { DRIVER_KINDS, driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { isEdgeError } from '../../edge/errors.js';
import type { Gateway } from '../../edge/gateway/gateway.js';
import { GatewayHost } from '../../edge/gateway/host.js';
import { silentLogger } from '../../edge/log.js';
import { connectOptions } from '../../edge/uplink/connect-options.js';
import { uplinkConfig } from '../uplink/helpers.js';

/**
 * Configuration bounds that protect the fail-safe hold for every source, and what a document
 * from the platform may not change. The attack: `POST /api/config/validate` said valid for a
 * pass gate that diverts while "safe", an inverted E-stop, maxLateMs 5000, safeStateAfterMs
 * 30000, a moved pass lane, HTTP and broker on 0.0.0.0; a config-put added an admin and pointed
 * the uplink at an attacker's broker with the technician password as `${env:...}`.
 */

const example = () =>
  parse(
    readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
  ) as Record<string, any>;

function theAttackDocument(): Record<string, any> {
  const doc = example();
  doc.gates.outputs[1].safeValue = 1; // gate-pass diverts in its safe state
  doc.gates.inputs[0].activeLow = false; // E-stop polarity inverted
  doc.gates.maxLateMs = 5000;
  doc.gates.safeStateAfterMs = 30_000;
  doc.line.lanes.pass.positionMm = 7500; // the pass lane moved
  doc.http.host = '0.0.0.0';
  doc.embeddedBroker.host = '0.0.0.0';
  return doc;
}

describe('safety bounds, whatever the source', () => {
  const validator = new ConfigValidator(driverKindSchemas());

  it('the attack document is invalid, each bound named', () => {
    const issues = validator.check(theAttackDocument());
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['/gates/outputs/1/safeValue']).toMatch(/would divert in its safe state/);
    expect(byPath['/gates/maxLateMs']).toMatch(/5000 mm off, more than the smallest gap/);
    expect(byPath['/gates/safeStateAfterMs']).toMatch(/at most 2000 ms/);
    expect(byPath['/http/host']).toMatch(/needs http.tls/);
    expect(byPath['/embeddedBroker']).toMatch(/needs username and password/);
  });

  it('the example configurations are inside the bounds', () => {
    for (const name of ['simulated-line', 'serial-line', 'opcua-line']) {
      const doc = parse(
        readFileSync(new URL(`../../config/examples/${name}.yaml`, import.meta.url), 'utf8'),
      ) as Record<string, unknown>;
      expect(validator.check(doc), name).toEqual([]);
    }
  });

  it('the production template loads: HTTPS, no embedded broker, mTLS uplink, a pinned key', () => {
    const { config } = loadConfigFile(
      fileURLToPath(new URL('../../provisioning/gateway.example.yaml', import.meta.url)),
      {
        driverKinds: driverKindSchemas(),
        secrets: {
          env: { EDGE_TECH_PASSWORD: 'technician-password-1' },
          readFile: () => 'admin-password-1',
        },
      },
    );
    expect(config.embeddedBroker.enabled).toBe(false);
    expect(config.http.tls).toMatchObject({ cert: expect.any(String), key: expect.any(String) });
    expect(config.uplink).toMatchObject({
      url: expect.stringMatching(/^mqtts:/),
      protocolVersion: 5,
    });
    expect(config.uplink.tls).toMatchObject({ rejectUnauthorized: true });
    expect(config.uplink.commands.signing.keys).toHaveLength(1);
  });

  it('maxLateMs is bounded by the parcel gap at the fastest belt speed', () => {
    const doc = example();
    doc.line.minGapMm = 40;
    doc.gates.maxLateMs = 50; // 50 mm at 1 m/s > 40 mm
    expect(validator.check(doc).map((i) => i.path)).toEqual(['/gates/maxLateMs']);
    doc.gates.maxLateMs = 40;
    expect(validator.check(doc)).toEqual([]);
    doc.line.tracking.maxSpeedMmPerS = 2000; // at the fastest allowed speed: 80 mm
    expect(validator.check(doc).map((i) => i.path)).toEqual(['/gates/maxLateMs']);
  });

  it('the embedded broker beyond loopback with a login, and HTTPS beyond loopback, are accepted', () => {
    const doc = example();
    doc.embeddedBroker = {
      enabled: true,
      host: '0.0.0.0',
      port: 1883,
      username: 'site-broker',
      password: 'a-long-broker-password',
    };
    doc.http.host = '0.0.0.0';
    doc.http.tls = {
      cert: '/etc/customs-edge/tls/http.crt',
      key: '/etc/customs-edge/tls/http.key',
    };
    expect(validator.check(doc)).toEqual([]);
  });

  it('pinned command keys are checked: a broken key is named by its path', () => {
    const doc = example();
    doc.uplink.commands.signing.keys.push({
      id: 'broken',
      issuer: 'x',
      publicKey: 'MCowBQYDK2VwAyEA-not-a-key-at-all-0000000000000000',
      roles: ['config'],
    });
    expect(validator.check(doc)).toEqual([
      {
        path: '/uplink/commands/signing/keys/1/publicKey',
        message: 'not a public key (base64 SPKI DER or PEM expected)',
      },
    ]);
  });
});

describe('a configuration from the platform (GatewayHost, remote)', () => {
  let dir: string;
  let file: string;
  let host: GatewayHost;
  const env = { EDGE_TECH_PASSWORD: 'the-real-technician-password' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'remote-config-'));
    file = join(dir, 'gateway.yaml');
    const doc = example();
    doc.dataDir = join(dir, 'data');
    doc.http.users = [
      { name: 'technician', role: 'technician', password: '${env:EDGE_TECH_PASSWORD}' },
    ];
    writeFileSync(file, stringify(doc));
    host = new GatewayHost({
      file,
      driverKinds: DRIVER_KINDS,
      log: silentLogger(),
      clock: systemClock,
      version: 't',
      secrets: { env, readFile: () => '' },
      createGateway: () =>
        ({
          start: () => Promise.resolve(),
          stop: () => Promise.resolve(),
          recordAudit: () => undefined,
        }) as unknown as Gateway,
    });
    await host.start();
  });

  afterAll(async () => {
    await host?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('may not add users, move the uplink, bring secret references, or touch gates and geometry', () => {
    const doc = host.current() as Record<string, any>;
    doc.http.users.push({ name: 'intruder', role: 'admin', password: 'intruder-pass-1' });
    doc.uplink.url = 'mqtt://attacker.example:1883';
    doc.uplink.username = 'gw';
    doc.uplink.password = '${env:EDGE_TECH_PASSWORD}';
    doc.gates.outputs[1].safeValue = 0;
    doc.gates.inputs[0].activeLow = false;
    doc.line.lanes.pass.positionMm = 7500;
    doc.uplink.commands.signing.keys = [];
    const issues = host.validate(doc, { remote: true });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/http',
        '/uplink/url',
        '/uplink/username',
        '/uplink/password',
        '/uplink/commands',
        '/gates',
        '/line/lanes',
      ]),
    );
    expect(issues.find((i) => i.path === '/uplink/password')?.message).toMatch(
      /may not bring \$\{env:\}/,
    );
    expect(JSON.stringify(issues)).not.toContain(env.EDGE_TECH_PASSWORD);
    // the same document from the technician console (on site) is fine
    expect(host.validate(doc).map((i) => i.path)).toEqual([]);
  });

  it('may change the rules and drivers; left-out on-site parts are kept from the local file', async () => {
    const doc = host.current() as Record<string, any>;
    delete doc.http;
    delete doc.gates;
    doc.line = { rules: { ...doc.line.rules, noReadLane: 'inspection' } };
    doc.drivers[0].parcelsPerMinute = 60;
    expect(host.validate(doc, { remote: true })).toEqual([]);
    const r = await host.apply(doc, 'platform:test', { remote: true });
    expect(r).toMatchObject({ ok: true, applied: true });
    const written = parse(readFileSync(file, 'utf8')) as Record<string, any>;
    expect(written.http.users).toEqual([
      { name: 'technician', role: 'technician', password: '${env:EDGE_TECH_PASSWORD}' },
    ]);
    expect(written.gates.outputs).toHaveLength(2);
    expect(written.line.lanes.pass.positionMm).toBe(8000);
    expect(written.line.rules.noReadLane).toBe('inspection');
    expect(written.drivers[0].parcelsPerMinute).toBe(60);
  });
});

describe('no error message echoes a resolved secret', () => {
  const pem =
    '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOsecretsecretsecret\n-----END PRIVATE KEY-----';

  it('a TLS key given as ${env:...} is refused as a path, without echoing the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-ref-'));
    try {
      const file = join(dir, 'gateway.yaml');
      const doc = example();
      doc.dataDir = join(dir, 'data');
      doc.embeddedBroker.enabled = false;
      doc.uplink.url = 'mqtts://broker.example:8883';
      doc.uplink.tls = { key: '${env:TLS_KEY}', cert: '/etc/customs-edge/tls/gw.crt' };
      writeFileSync(file, stringify(doc));
      let message = '';
      try {
        loadConfigFile(file, {
          driverKinds: driverKindSchemas(),
          secrets: { env: { TLS_KEY: pem }, readFile: () => '' },
        });
      } catch (err) {
        expect(isEdgeError(err, 'EDGE_CONFIG_INVALID')).toBe(true);
        message = `${(err as Error).message} ${JSON.stringify((err as { details?: unknown }).details)}`;
      }
      expect(message).toMatch(/\/uplink\/tls\/key: must be a file path/);
      expect(message).not.toContain('secretsecret');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('TLS file errors name the setting and path, never file content', () => {
    const config = uplinkConfig({ url: 'mqtts://broker.example:8883' });
    const will = { topic: 't', payload: 'p' };
    const withPem = { ...config, tls: { rejectUnauthorized: true, key: pem } };
    expect(() => connectOptions(withPem, 'gw', will)).toThrow(/uplink.tls.key is not a file path/);
    try {
      connectOptions(withPem, 'gw', will);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('secret');
      expect((err as Error).cause).toBeUndefined();
    }
    const missing = { ...config, tls: { rejectUnauthorized: true, key: '/nope/gw.key' } };
    expect(() => connectOptions(missing, 'gw', will)).toThrow(
      'cannot read uplink.tls.key /nope/gw.key (ENOENT)',
    );
  });

  it('health texts have every configured secret value replaced', () => {
    const config = {
      http: { users: [{ name: 'a', password: 'the-real-technician-password' }] },
      uplink: { password: 'broker-pass-123', tls: { key: '/etc/x.key', passphrase: 'pp-123456' } },
    };
    const secrets = secretValues(config);
    expect(secrets).toEqual(
      expect.arrayContaining(['the-real-technician-password', 'broker-pass-123', 'pp-123456']),
    );
    expect(secrets).not.toContain('/etc/x.key');
    const health = {
      uplink: { lastError: 'Connection refused: broker-pass-123 rejected' },
      drivers: [{ lastError: { message: 'login the-real-technician-password failed' } }],
    };
    expect(JSON.stringify(scrubSecrets(health, secrets))).not.toMatch(
      /broker-pass-123|the-real-technician-password/,
    );
  });
});
