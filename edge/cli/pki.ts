import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CliError } from './io.js';

/**
 * Keys and certificates the gateway needs, made on the device so no private key travels:
 *
 * - MQTT client identity (mTLS to the platform broker): the key and a certificate signing
 *   request by the `openssl` CLI (Debian's / Raspberry Pi OS's openssl package, present on every
 *   image): EC P-256 by default, RSA 2048 on request; CN = gateway id, O = site, a URI SAN
 *   `urn:customs-edge:<site>:<gateway>` and extendedKeyUsage clientAuth. The platform's CA signs
 *   the CSR; `customs-edge cert install` checks the answer (matches the key, dates, chain to
 *   the CA with `openssl verify -purpose sslclient`) before the configuration points at it.
 * - OPC UA application instance certificate: by node-opcua's own certificate manager
 *   (node-opcua-pki), in the layout and with the applicationUri the gateway's OPC UA client
 *   looks for (own/certs/client_certificate.pem, own/private/private_key.pem, URI SAN
 *   `urn:<hostname>:<applicationName>`), so the driver uses it instead of making its own at
 *   first connect. Self-signed, 10 years, like node-opcua's: servers trust it explicitly.
 *
 * Reading and checking certificates uses Node's X509Certificate (no openssl needed).
 */

export type KeyType = 'ec' | 'rsa';

function openssl(args: string[], input?: string): string {
  // node-opcua-pki sets OPENSSL_CONF in this process (to "undefined" at times): the CLI's own
  // openssl calls use the system configuration
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'OPENSSL_CONF'));
  try {
    return execFileSync('openssl', args, {
      env,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input !== undefined ? { input } : {}),
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new CliError('openssl not found: apt-get install -y openssl', 1);
    throw new CliError(`openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`, 1);
  }
}

export function mqttIdentityUri(site: string, gatewayId: string): string {
  return `urn:customs-edge:${site}:${gatewayId}`;
}

export interface ClientKeyFiles {
  key: string;
  csr: string;
  createdKey: boolean;
}

/** The MQTT client key (kept if present, unless `replace`) and a fresh CSR for it. */
export function createClientKeyAndCsr(o: {
  dir: string;
  site: string;
  gatewayId: string;
  keyType?: KeyType;
  replace?: boolean;
}): ClientKeyFiles {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const key = join(o.dir, 'client.key');
  const csr = join(o.dir, 'client.csr');
  let createdKey = false;
  if (!existsSync(key) || o.replace) {
    const pem = openssl(
      o.keyType === 'rsa'
        ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
        : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    );
    writeFileSync(key, pem, { mode: 0o600 });
    chmodSync(key, 0o600);
    createdKey = true;
  }
  const request = openssl([
    'req',
    '-new',
    '-key',
    key,
    '-subj',
    `/O=${o.site}/OU=customs-edge/CN=${o.gatewayId}`,
    '-addext',
    `subjectAltName=URI:${mqttIdentityUri(o.site, o.gatewayId)}`,
    '-addext',
    'extendedKeyUsage=clientAuth',
  ]);
  writeFileSync(csr, request, { mode: 0o644 });
  return { key, csr, createdKey };
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  sha256: string;
  subjectAltName: string | null;
  selfSigned: boolean;
}

export function readCertificates(file: string): X509Certificate[] {
  const text = readFileSync(file, 'utf8');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!pems || pems.length === 0) throw new CliError(`${file}: no PEM certificate in it`);
  return pems.map((p) => new X509Certificate(p));
}

export function certificateInfo(cert: X509Certificate): CertificateInfo {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    sha256: cert.fingerprint256,
    subjectAltName: cert.subjectAltName ?? null,
    selfSigned: cert.subject === cert.issuer,
  };
}

export function daysLeft(info: CertificateInfo, now: Date): number {
  return Math.floor((info.notAfter.getTime() - now.getTime()) / 86_400_000);
}

/** Problems of a signed client certificate for this key and CA; empty when it can be used. */
export function clientCertificateProblems(o: {
  certFile: string;
  keyFile: string;
  caFile?: string;
  gatewayId: string;
  now: Date;
}): { problems: string[]; warnings: string[]; info: CertificateInfo } {
  const [leaf] = readCertificates(o.certFile);
  const info = certificateInfo(leaf!);
  const problems: string[] = [];
  const warnings: string[] = [];
  if (!leaf!.checkPrivateKey(createPrivateKey(readFileSync(o.keyFile))))
    problems.push(
      `the certificate does not match ${o.keyFile} (signed from another CSR? send this gateway's client.csr)`,
    );
  if (o.now < info.notBefore)
    problems.push(
      `not valid before ${info.notBefore.toISOString()} (is this clock right? ${o.now.toISOString()})`,
    );
  if (o.now > info.notAfter) problems.push(`expired ${info.notAfter.toISOString()}`);
  else if (daysLeft(info, o.now) < 30)
    warnings.push(`expires in ${daysLeft(info, o.now)} days (${info.notAfter.toISOString()})`);
  if (!/CN=([^,\n]+)/.exec(leaf!.subject)?.[1]?.includes(o.gatewayId))
    warnings.push(`its CN is not the gateway id ${o.gatewayId} (${info.subject})`);
  if (o.caFile) {
    try {
      openssl(['verify', '-purpose', 'sslclient', '-CAfile', o.caFile, o.certFile]);
    } catch (err) {
      problems.push(`does not verify against ${o.caFile}: ${(err as Error).message}`);
    }
  }
  return { problems, warnings, info };
}

/**
 * node-opcua's applicationUri for a client that sets none (node-opcua-common makeApplicationUrn):
 * `urn:<hostname>:<applicationName>`, the hostname replaced by 16 hex of its MD5 when the URN
 * would reach 64 characters. A server checks the certificate's URI SAN against it.
 */
export function opcuaApplicationUri(applicationName: string, host: string = hostname()): string {
  let h = host;
  if (h.length + 7 + applicationName.length >= 64)
    h = createHash('md5').update(host).digest('hex').substring(0, 16);
  return `urn:${h}:${applicationName}`;
}

export function opcuaCertificateFiles(pkiDir: string): { certificate: string; privateKey: string } {
  return {
    certificate: join(pkiDir, 'own/certs/client_certificate.pem'),
    privateKey: join(pkiDir, 'own/private/private_key.pem'),
  };
}

/** The gateway's OPC UA application certificate in `pkiDir` (made if missing). */
export async function ensureOpcuaApplicationCertificate(o: {
  pkiDir: string;
  applicationName: string;
  site: string;
  host?: string;
}): Promise<{ certificate: string; applicationUri: string; created: boolean }> {
  const files = opcuaCertificateFiles(o.pkiDir);
  const host = o.host ?? hostname();
  const applicationUri = opcuaApplicationUri(o.applicationName, host);
  if (existsSync(files.certificate))
    return { certificate: files.certificate, applicationUri, created: false };
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  const manager = new OPCUACertificateManager({
    rootFolder: o.pkiDir,
    automaticallyAcceptUnknownCertificate: false,
    keySize: 2048,
    disableFileWatchers: true,
  });
  try {
    await manager.initialize(); // folders and the private key
    await manager.createSelfSignedCertificate({
      applicationUri,
      dns: [host],
      subject: `/CN=${`${o.applicationName}@${host}`.substring(0, 63)}/O=${o.site}/OU=customs-edge`,
      startDate: new Date(),
      validity: 3650,
      outputFile: files.certificate,
    });
  } finally {
    await manager.dispose();
  }
  chmodSync(files.privateKey, 0o600);
  return { certificate: files.certificate, applicationUri, created: true };
}
