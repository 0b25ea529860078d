import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { StatusCodes } from 'node-opcua-client';
import { readCertificate } from 'node-opcua-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.js';
import { CertificateStore, thumbprintOf } from '../../drivers/opcua/certificate-store.js';

/**
 * The pinned view of the gateway's PKI, against real certificates (self-signed, as most PLCs and
 * CT scanners ship them): the pinned one is accepted only within its validity dates, without
 * being written to trusted/; any other certificate is refused and listed.
 */

const dirs: string[] = [];
let store: CertificateStore;

async function serverCertificate(name: string, startDaysAgo: number, validityDays: number) {
  const root = mkdtempSync(join(tmpdir(), `pin-${name}-`));
  dirs.push(root);
  const pki = new OPCUACertificateManager({ rootFolder: root, disableFileWatchers: true });
  await pki.initialize();
  const file = join(root, `${name}.pem`);
  await pki.createSelfSignedCertificate({
    outputFile: file,
    subject: `/CN=${name}/O=customs-edge tests`,
    applicationUri: `urn:customs-edge:test:${name}`,
    dns: ['localhost'],
    startDate: new Date(Date.now() - startDaysAgo * 86_400_000),
    validity: validityDays,
  });
  await pki.dispose();
  return readCertificate(file);
}

let valid: Buffer;
let expired: Buffer;
let notYet: Buffer;
let other: Buffer;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'pin-store-'));
  dirs.push(root);
  store = new CertificateStore(root, silentLogger());
  await store.initialize();
  [valid, expired, notYet, other] = await Promise.all([
    serverCertificate('valid', 1, 365),
    serverCertificate('expired', 10, 2),
    serverCertificate('not-yet', -5, 30),
    serverCertificate('other', 1, 365),
  ]);
}, 60_000);

afterAll(async () => {
  await store?.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('pinned server certificate', () => {
  it('is accepted within its dates, without entering trusted/', async () => {
    const view = store.pinnedView(thumbprintOf(valid));
    expect((await view.checkCertificate(valid)).name).toBe('Good');
    expect(readdirSync(store.manager.trustedFolder)).toEqual([]);
    // the callback form node-opcua may use
    const viaCallback = await new Promise((resolve, reject) =>
      view.checkCertificate(valid, (err, status) => (err ? reject(err) : resolve(status?.name))),
    );
    expect(viaCallback).toBe('Good');
  });

  it('is refused when expired or not yet valid', async () => {
    expect((await store.pinnedView(thumbprintOf(expired)).checkCertificate(expired)).name).toBe(
      StatusCodes.BadCertificateTimeInvalid.name,
    );
    expect((await store.pinnedView(thumbprintOf(notYet)).checkCertificate(notYet)).name).toBe(
      StatusCodes.BadCertificateTimeInvalid.name,
    );
  });

  it('another certificate than the pinned one is refused and listed as rejected', async () => {
    const view = store.pinnedView(thumbprintOf(valid));
    expect((await view.checkCertificate(other)).name).toBe('BadCertificateUntrusted');
    expect(await store.list()).toContainEqual(
      expect.objectContaining({ thumbprint: thumbprintOf(other), status: 'rejected' }),
    );
    // still accepted after it was once seen in rejected/ (the pin does not depend on the folders)
    expect((await store.pinnedView(thumbprintOf(other)).checkCertificate(other)).name).toBe('Good');
  });
});
