import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.js';
import { UserDirectory } from '../../edge/http/auth.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { opcuaRoutes } from '../../edge/http/routes/opcua-routes.js';
import { buildHttpServer } from '../../edge/http/server.js';
import type { OpcuaDriver } from '../../drivers/opcua/opcua-driver.js';
import { SIM_NS } from '../../drivers/opcua/signal-mapping.js';
import { waitFor } from '../support/wait.js';
import { makeDriver, node, opcuaConfig } from './helpers.js';
import { startSim, type OpcuaSim } from './sim-process.js';

/**
 * SignAndEncrypt against the simulator: an unknown server certificate is refused and listed; a
 * technician trusts it through the HTTP API and the driver connects. A pinned thumbprint is
 * trusted without a technician; a wrong pin is refused. Username and X.509 user identities are
 * checked by the server.
 */

const T = { timeoutMs: 30_000 };
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const tech = basic('tech', 'tech-secret-1');
const viewer = basic('viewer', 'viewer-secret-1');

let sim: OpcuaSim;
const dirs: string[] = [];
const drivers: OpcuaDriver[] = [];
let app: FastifyInstance;
const audits: Record<string, unknown>[] = [];

function secureDriver(
  id: string,
  extra: Record<string, unknown> = {},
  dataDir = mkdtempSync(join(tmpdir(), 'opcua-sec-')),
) {
  dirs.push(dataDir);
  const made = makeDriver(
    opcuaConfig({
      id,
      kind: 'opcua',
      servers: [
        {
          id: `${id}-ct`,
          endpointUrl: sim.endpoint,
          deviceId: 'ct-1',
          securityMode: 'SignAndEncrypt',
          securityPolicy: 'Basic256Sha256',
          backoff: { initialMs: 200, maxMs: 1000 },
          signals: [
            { name: 'ct1.verdict', kind: 'ctVerdict', nodeId: node('CT1'), fieldNamespace: SIM_NS },
          ],
          ...extra,
        },
      ],
    }),
    dataDir,
  );
  drivers.push(made.driver);
  return { ...made, dataDir };
}

/** A user certificate + private key (X.509 user identity), as an operator's PKI would issue. */
async function userCertificate(name: string) {
  const root = mkdtempSync(join(tmpdir(), `opcua-user-${name}-`));
  dirs.push(root);
  const pki = new OPCUACertificateManager({ rootFolder: root, disableFileWatchers: true });
  await pki.initialize();
  const certificateFile = join(root, `${name}.pem`);
  await pki.createSelfSignedCertificate({
    outputFile: certificateFile,
    subject: `/CN=${name}/O=customs-edge tests`,
    applicationUri: `urn:customs-edge:user:${name}`,
    dns: [],
    startDate: new Date(Date.now() - 60_000),
    validity: 30,
  });
  await pki.dispose();
  return { certificateFile, privateKeyFile: join(root, 'own/private/private_key.pem') };
}

let operator: { certificateFile: string; privateKeyFile: string };
let stranger: { certificateFile: string; privateKeyFile: string };

beforeAll(async () => {
  operator = await userCertificate('gw-operator');
  stranger = await userCertificate('stranger');
  sim = await startSim(['--user', 'gw:opcua-secret-1', '--user-cert', operator.certificateFile]);
  app = await buildHttpServer({
    log: silentLogger(),
    users: new UserDirectory([
      { name: 'viewer', role: 'viewer', password: 'viewer-secret-1' },
      { name: 'tech', role: 'technician', password: 'tech-secret-1' },
    ]),
    board: new ParcelBoard(),
    health: () => ({}),
    runningConfig: () => ({}),
    routes: [opcuaRoutes({ drivers: () => drivers, audit: (e) => audits.push(e) })],
  });
}, 90_000);

afterAll(async () => {
  await app?.close();
  await Promise.allSettled(drivers.map((d) => d.stop()));
  await sim?.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('OPC UA security', () => {
  it('refuses an untrusted server certificate, lists it, connects once a technician trusts it', async () => {
    const { driver, signals } = secureDriver('opcua-sec');
    await driver.start();
    const server = () => driver.serverHealth()[0]!;
    await waitFor(() => server().state === 'certificateRejected', { ...T, what: 'rejected' });
    expect(server().lastError?.code).toBe('EDGE_OPCUA_CERT_UNTRUSTED');
    expect(server().serverCertificate).toBe(sim.thumbprint);
    expect(driver.health().state).toBe('degraded');

    expect((await app.inject({ url: '/api/opcua/certificates', headers: viewer })).statusCode).toBe(
      403,
    );
    const listed = await app.inject({ url: '/api/opcua/certificates', headers: tech });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().certificates).toContainEqual(
      expect.objectContaining({
        thumbprint: sim.thumbprint,
        status: 'rejected',
        driverId: 'opcua-sec',
      }),
    );
    // still refused after more attempts: nothing is trusted automatically
    const attempts = server().connectAttempts;
    await waitFor(() => server().connectAttempts > attempts, T);
    expect(server().state).toBe('certificateRejected');

    const trusted = await app.inject({
      method: 'POST',
      url: `/api/opcua/certificates/${sim.thumbprint}/trust`,
      headers: tech,
    });
    expect(trusted.statusCode).toBe(200);
    expect(audits).toContainEqual(
      expect.objectContaining({
        action: 'opcua.certificate.trust',
        actor: 'tech',
        thumbprint: sim.thumbprint,
      }),
    );
    await waitFor(() => server().state === 'connected', { ...T, what: 'connected after trust' });
    expect(server().securityMode).toBe('SignAndEncrypt');
    await sim.command({ cmd: 'verdict', trackingId: 'SEC-1', verdict: 'NO_ALARM' });
    await waitFor(() => signals.find((s) => s.type === 'ctVerdict' && s.scanId === 'SEC-1'), T);

    const servers = await app.inject({ url: '/api/opcua/servers', headers: tech });
    expect(servers.json().servers[0]).toMatchObject({ id: 'opcua-sec-ct', state: 'connected' });
    const browse = await app.inject({
      url: '/api/opcua/servers/opcua-sec-ct/browse',
      headers: tech,
    });
    expect(browse.statusCode).toBe(200);
    expect(browse.json().children.map((c: { browseName: string }) => c.browseName)).toContain(
      '5:CTScanner',
    );
    const read = await app.inject({
      url: `/api/opcua/servers/opcua-sec-ct/read?nodeId=${encodeURIComponent(node('CT1.TrackingId'))}`,
      headers: tech,
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ value: 'SEC-1', dataType: 'String' });
    expect(
      (await app.inject({ url: '/api/opcua/servers/nope/browse', headers: tech })).statusCode,
    ).toBe(404);

    const removed = await app.inject({
      method: 'DELETE',
      url: `/api/opcua/certificates/${sim.thumbprint}`,
      headers: tech,
    });
    expect(removed.statusCode).toBe(200);
    const after = await app.inject({ url: '/api/opcua/certificates', headers: tech });
    expect(
      after
        .json()
        .certificates.filter((c: { thumbprint: string }) => c.thumbprint === sim.thumbprint),
    ).toEqual([]);
    const again = await app.inject({
      method: 'DELETE',
      url: `/api/opcua/certificates/${sim.thumbprint}`,
      headers: tech,
    });
    expect(again.statusCode).toBe(404);
  }, 90_000);

  it('a server that does not trust the gateway says so: its thumbprint and where to get it', async () => {
    const strict = await startSim(['--strict-clients']);
    try {
      const refused = secureDriver('opcua-refused', {
        endpointUrl: strict.endpoint,
        serverCertificateThumbprint: strict.thumbprint,
      });
      await refused.driver.start();
      const error = await waitFor(
        () => {
          const e = refused.driver.serverHealth()[0]!.lastError;
          return e?.code === 'EDGE_OPCUA_CLIENT_CERT_REFUSED' ? e : null;
        },
        { timeoutMs: 60_000, what: 'client certificate refused' },
      );
      const own = refused.driver.store.ownThumbprint();
      expect(own).toMatch(/^[0-9a-f]{40}$/);
      expect(error.message).toContain(
        `does not trust this gateway's certificate (thumbprint ${own})`,
      );
      expect(error.message).toContain(refused.driver.store.ownCertificateFile);
      expect(refused.driver.serverHealth()[0]!.state).not.toBe('connected');
      await refused.driver.stop();
    } finally {
      await strict.dispose();
    }
  }, 120_000);

  it('a pinned thumbprint is trusted without a technician; a wrong pin is refused', async () => {
    const good = secureDriver('opcua-pin', {
      serverCertificateThumbprint: sim.thumbprint,
      securityPolicy: 'Aes256_Sha256_RsaPss',
      userIdentity: { type: 'username', username: 'gw', password: 'opcua-secret-1' },
    });
    const bad = secureDriver('opcua-badpin', { serverCertificateThumbprint: 'ab'.repeat(20) });
    await Promise.all([good.driver.start(), bad.driver.start()]);
    await waitFor(() => good.driver.serverHealth()[0]!.state === 'connected', {
      ...T,
      what: 'pinned connects',
    });
    await waitFor(
      () => bad.driver.serverHealth()[0]!.lastError?.code === 'EDGE_OPCUA_CERT_PIN_MISMATCH',
      T,
    );
    expect(bad.driver.serverHealth()[0]!.state).not.toBe('connected');
    // the driver's own health names the reason, not just "connecting"
    await waitFor(() => bad.driver.health().lastError?.code === 'EDGE_OPCUA_CERT_PIN_MISMATCH', T);
    // a pin is not a trust entry: nothing was written to trusted/
    expect((await good.driver.store.list()).filter((c) => c.status === 'trusted')).toEqual([]);

    // the pin is removed from the config: the same PKI no longer accepts that server
    await good.driver.stop();
    const unpinned = secureDriver('opcua-pin', {}, good.dataDir);
    await unpinned.driver.start();
    await waitFor(() => unpinned.driver.serverHealth()[0]!.state === 'certificateRejected', {
      ...T,
      what: 'rejected once unpinned',
    });
    expect(await unpinned.driver.store.list()).toContainEqual(
      expect.objectContaining({ thumbprint: sim.thumbprint, status: 'rejected' }),
    );
    await unpinned.driver.stop();
    // pinned again: accepted straight away, even though it sits in rejected/
    const repinned = secureDriver(
      'opcua-pin',
      { serverCertificateThumbprint: sim.thumbprint },
      good.dataDir,
    );
    await repinned.driver.start();
    await waitFor(() => repinned.driver.serverHealth()[0]!.state === 'connected', {
      ...T,
      what: 'pinned again',
    });
  }, 90_000);

  it('with security on, the first connect is retried until the server is up (node-opcua #1357)', async () => {
    await sim.kill();
    const late = secureDriver('opcua-late', { serverCertificateThumbprint: sim.thumbprint });
    await late.driver.start();
    const server = () => late.driver.serverHealth()[0]!;
    await waitFor(() => server().connectAttempts >= 2, { ...T, what: 'retrying while down' });
    expect(server().state).toBe('connecting');
    expect(server().lastError?.code).toBe('EDGE_OPCUA_CONNECT');
    await sim.start();
    await waitFor(() => server().state === 'connected', { timeoutMs: 60_000, what: 'connected' });
  }, 120_000);

  it('a wrong password is refused by the server', async () => {
    const wrong = secureDriver('opcua-wrongpw', {
      securityMode: 'Sign',
      serverCertificateThumbprint: sim.thumbprint,
      userIdentity: { type: 'username', username: 'gw', password: 'not-the-password' },
    });
    await wrong.driver.start();
    const h = await waitFor(() => wrong.driver.serverHealth()[0]!.lastError, T);
    expect(h.code).toBe('EDGE_OPCUA_CONNECT');
    expect(h.message).toMatch(
      /BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/,
    );
    expect(JSON.stringify(wrong.driver.health())).not.toContain('not-the-password');
  });

  it('an X.509 user identity the server trusts is accepted; an unknown one is refused', async () => {
    const pinned = { securityMode: 'SignAndEncrypt', serverCertificateThumbprint: sim.thumbprint };
    const good = secureDriver('opcua-x509', {
      ...pinned,
      userIdentity: { type: 'certificate', ...operator },
    });
    const bad = secureDriver('opcua-x509-unknown', {
      ...pinned,
      userIdentity: { type: 'certificate', ...stranger },
    });
    await Promise.all([good.driver.start(), bad.driver.start()]);
    await waitFor(() => good.driver.serverHealth()[0]!.state === 'connected', {
      ...T,
      what: 'connected with the user certificate',
    });
    await sim.command({ cmd: 'verdict', trackingId: 'X509-1', verdict: 'ALARM' });
    await waitFor(
      () => good.signals.find((s) => s.type === 'ctVerdict' && s.scanId === 'X509-1'),
      T,
    );
    const refused = await waitFor(() => bad.driver.serverHealth()[0]!.lastError, T);
    expect(refused.code).toBe('EDGE_OPCUA_CONNECT');
    expect(refused.message).toMatch(
      /BadIdentityTokenRejected|BadIdentityTokenInvalid|BadUserAccessDenied|BadCertificateUntrusted/,
    );
    expect(bad.driver.serverHealth()[0]!.state).not.toBe('connected');
  });

  it('a user certificate that cannot be read is a clear error, not a crash', async () => {
    const missing = secureDriver('opcua-x509-missing', {
      serverCertificateThumbprint: sim.thumbprint,
      userIdentity: {
        type: 'certificate',
        certificateFile: join(tmpdir(), 'no-such-user-cert.pem'),
        privateKeyFile: operator.privateKeyFile,
      },
    });
    await missing.driver.start();
    const err = await waitFor(() => missing.driver.serverHealth()[0]!.lastError, T);
    expect(err.code).toBe('EDGE_OPCUA_IDENTITY');
    expect(err.message).toMatch(/no-such-user-cert/);
  });
});
