import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, resolveSecrets } from '../../config/loader.js';
import { DRIVER_KINDS, driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { EdgeError } from '../../edge/errors.js';
import { GatewayHost } from '../../edge/gateway/host.js';
import { silentLogger } from '../../edge/log.js';

/** ${env:...} and ${file:...} resolve only in secret fields; remote configs read only allowed dirs. */
const SCOPE = /secret references are allowed only in secret fields/;
const readFile = (p: string) => readFileSync(p, 'utf8').trim();

describe('secret reference scope', () => {
  let dir: string;
  let outside: string;
  let base: Record<string, any>;
  let file: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edge-scope-'));
    outside = mkdtempSync(join(tmpdir(), 'edge-scope-outside-'));
    writeFileSync(join(outside, 'host-file'), 'not-for-remote-eyes\n');
    writeFileSync(join(dir, 'mqtt-password'), 'inside-secret\n');
    mkdirSync(join(dir, 'links'));
    symlinkSync(join(outside, 'host-file'), join(dir, 'links', 'escape'));
    base = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    base.dataDir = join(dir, 'data');
    file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(base));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('does not resolve a reference in a non-secret field and names its path', () => {
    const { doc, issues } = resolveSecrets(
      {
        gateway: { site: '${env:HOME}' },
        line: { id: 'x-${file:/etc/hostname}' },
        drivers: [{ description: '${env:SECRET_THING:-fallback}' }],
        uplink: { password: '${env:MQTT_PW}', tls: { passphrase: '${env:PP}' } },
      },
      { env: { HOME: '/root', MQTT_PW: 'pw', PP: 'pp' }, readFile },
    );
    expect(issues.map((i) => i.path)).toEqual([
      '/gateway/site',
      '/line/id',
      '/drivers/0/description',
    ]);
    for (const i of issues) expect(i.message).toMatch(SCOPE);
    expect(doc).toMatchObject({
      gateway: { site: '${env:HOME}' },
      line: { id: 'x-${file:/etc/hostname}' },
      uplink: { password: 'pw', tls: { passphrase: 'pp' } },
    });
  });

  it('a file loaded at start with a reference outside a secret field is invalid', () => {
    const doc = structuredClone(base);
    doc.gateway.site = '${env:EDGE_SCOPE_SITE}';
    const f = join(dir, 'start.yaml');
    writeFileSync(f, stringify(doc));
    let error: unknown;
    try {
      loadConfigFile(f, {
        driverKinds: driverKindSchemas(),
        secrets: { env: { EDGE_SCOPE_SITE: 'leaked' }, readFile },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EdgeError);
    expect((error as EdgeError).code).toBe('EDGE_CONFIG_INVALID');
    expect((error as EdgeError).message).toMatch(/\/gateway\/site: secret references are allowed/);
  });

  it('the example configurations still load (passwords from the environment)', () => {
    for (const name of ['simulated-line', 'serial-line', 'opcua-line']) {
      const f = join(dir, `${name}.yaml`);
      writeFileSync(
        f,
        readFileSync(new URL(`../../config/examples/${name}.yaml`, import.meta.url), 'utf8'),
      );
      const loaded = loadConfigFile(f, {
        driverKinds: driverKindSchemas(),
        secrets: { env: { EDGE_UI_PASSWORD: 'ui-password-1' }, readFile },
      });
      expect(loaded.config.http.users[0]).toMatchObject({ password: 'ui-password-1' });
    }
  });

  describe('remote configurations (GatewayHost.validate)', () => {
    let host: GatewayHost;
    beforeAll(() => {
      host = new GatewayHost({
        file,
        driverKinds: DRIVER_KINDS,
        log: silentLogger(),
        clock: systemClock,
        version: 't',
        secrets: { env: { HOME: '/root' }, readFile },
      });
    });

    const withPassword = (password: string) => {
      const doc = structuredClone(base);
      doc.http.users[0].password = password;
      return doc;
    };

    it('rejects a reference in a non-secret field', () => {
      const doc = structuredClone(base);
      doc.line.id = '${env:HOME}';
      const issues = host.validate(doc);
      expect(issues).toContainEqual({ path: '/line/id', message: expect.stringMatching(SCOPE) });
    });

    it('reads a secret file next to the running config file', () => {
      expect(host.validate(withPassword(`\${file:${join(dir, 'mqtt-password')}}`))).toEqual([]);
    });

    it('refuses a secret file outside the allowed directories, also through .. or a symlink', () => {
      for (const path of [
        join(outside, 'host-file'),
        join(dir, '..', outside.split('/').pop()!, 'host-file'),
        join(dir, 'links', 'escape'),
        '/etc/passwd',
      ]) {
        const issues = host.validate(withPassword(`\${file:${path}}`));
        expect(issues).toContainEqual({
          path: '/http/users/0/password',
          message: expect.stringMatching(/outside the allowed directories/),
        });
      }
    });
  });
});
