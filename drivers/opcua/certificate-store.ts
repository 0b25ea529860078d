import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { StatusCodes, type StatusCode } from 'node-opcua-client';
import {
  exploreCertificateInfo,
  makeSHA1Thumbprint,
  readCertificate,
  split_der,
} from 'node-opcua-crypto';
import { EdgeError } from '../../edge/errors.js';
import type { CertificateEntry } from './api.js';

/**
 * The gateway's own PKI folder for OPC UA: its application instance certificate (created on
 * first start under own/), trusted/ and rejected/ server certificates. Unknown server
 * certificates are never accepted automatically: node-opcua writes them to rejected/, a
 * technician trusts one through the HTTP API (moved to trusted/certs) or removes it. A pinned
 * certificate is accepted by a per-server view of the manager and never written to trusted/.
 */
export class CertificateStore {
  readonly manager: OPCUACertificateManager;
  private initPromise: Promise<void> | null = null;

  constructor(
    readonly rootFolder: string,
    private readonly log: Logger,
  ) {
    this.manager = new OPCUACertificateManager({
      rootFolder,
      automaticallyAcceptUnknownCertificate: false,
      name: 'gateway-client',
      keySize: 2048,
      // no chokidar watchers: every change goes through this class (trust / remove)
      disableFileWatchers: true,
    });
  }

  /** The gateway's own application instance certificate (node-opcua's default place). */
  get ownCertificateFile(): string {
    return join(this.rootFolder, 'own', 'certs', 'client_certificate.pem');
  }

  /** Thumbprint (SHA-1 hex) of the gateway's own certificate; null before it exists. */
  ownThumbprint(): string | null {
    try {
      return makeSHA1Thumbprint(readCertificate(this.ownCertificateFile)).toString('hex');
    } catch {
      return null;
    }
  }

  initialize(): Promise<void> {
    this.initPromise ??= this.manager.initialize();
    return this.initPromise;
  }

  async list(): Promise<CertificateEntry[]> {
    await this.initialize();
    const out: CertificateEntry[] = [];
    for (const [status, folder] of [
      ['trusted', this.manager.trustedFolder],
      ['rejected', this.manager.rejectedFolder],
    ] as const) {
      let files: string[];
      try {
        files = await readdir(folder);
      } catch {
        continue;
      }
      for (const file of files) {
        if (!/\.(pem|der)$/i.test(file)) continue;
        const path = join(folder, file);
        try {
          const der = readCertificate(path);
          const info = exploreCertificateInfo(der);
          out.push({
            thumbprint: makeSHA1Thumbprint(der).toString('hex'),
            status,
            subject: info.subject.commonName ?? '',
            organization: info.subject.organizationName ?? null,
            notBefore: info.notBefore.toISOString(),
            notAfter: info.notAfter.toISOString(),
            file,
          });
        } catch (err) {
          this.log.warn({ err, file: path }, 'unreadable certificate in the PKI folder');
        }
      }
    }
    return out.sort((a, b) => a.status.localeCompare(b.status) || a.file.localeCompare(b.file));
  }

  async find(thumbprint: string): Promise<CertificateEntry | null> {
    const t = thumbprint.toLowerCase();
    return (await this.list()).find((c) => c.thumbprint === t) ?? null;
  }

  /** Move a rejected certificate to trusted. Returns the entry as it is now. */
  async trust(thumbprint: string): Promise<CertificateEntry> {
    const entry = await this.find(thumbprint);
    if (!entry) {
      throw new EdgeError(
        'EDGE_OPCUA_UNKNOWN_NAME',
        `no certificate with thumbprint ${thumbprint}`,
      );
    }
    if (entry.status === 'trusted') return entry;
    const der = readCertificate(join(this.manager.rejectedFolder, entry.file));
    await this.manager.trustCertificate(der);
    this.log.warn(
      { thumbprint: entry.thumbprint, subject: entry.subject },
      'server certificate trusted',
    );
    return { ...entry, status: 'trusted' };
  }

  /**
   * The certificate manager as one server's client sees it when the config pins that server's
   * certificate: the pinned certificate is accepted without entering trusted/ (so a changed or
   * removed pin trusts it no longer: nothing stays behind); its validity dates are checked here
   * (node-opcua answers "untrusted" for an unknown self-signed certificate before it looks at the
   * dates, so an expired pinned certificate would otherwise pass) and any other verdict on it
   * (invalid, revoked, bad issuer chain) stands. A missing revocation list of the issuer is not
   * held against a pinned certificate. Any other certificate goes through the normal check
   * (rejected/ and listed).
   */
  pinnedView(pin: string, nowMs: () => number = Date.now): OPCUACertificateManager {
    const manager = this.manager;
    const wanted = pin.toLowerCase();
    const check = async (chain: Buffer | Buffer[]): Promise<StatusCode> => {
      const all = Array.isArray(chain) ? Buffer.concat(chain) : chain;
      const leaf = split_der(all)[0] ?? all;
      if (thumbprintOf(leaf) !== wanted) return manager.checkCertificate(chain);
      let validity: { notBefore: Date; notAfter: Date };
      try {
        validity = exploreCertificateInfo(leaf);
      } catch {
        return StatusCodes.BadCertificateInvalid;
      }
      const now = nowMs();
      if (now < validity.notBefore.getTime() || now > validity.notAfter.getTime()) {
        this.log.warn(
          {
            thumbprint: wanted,
            notBefore: validity.notBefore.toISOString(),
            notAfter: validity.notAfter.toISOString(),
          },
          'pinned server certificate is outside its validity dates: refused',
        );
        return StatusCodes.BadCertificateTimeInvalid;
      }
      const status = await manager.verifyCertificate(all, {
        acceptCertificateWithValidIssuerChain: true,
        ignoreMissingRevocationList: true,
      });
      if (String(status) === 'BadCertificateUntrusted') return StatusCodes.Good;
      return (
        (StatusCodes as unknown as Record<string, StatusCode | undefined>)[String(status)] ??
        StatusCodes.BadCertificateInvalid
      );
    };
    return new Proxy(manager, {
      get(target, prop) {
        if (prop === 'checkCertificate') {
          return (
            chain: Buffer | Buffer[],
            callback?: (err: Error | null, s?: StatusCode) => void,
          ) => {
            const p = check(chain);
            if (!callback) return p;
            p.then(
              (status) => callback(null, status),
              (err: unknown) => callback(err as Error),
            );
            return undefined;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
  }

  async remove(thumbprint: string): Promise<CertificateEntry> {
    const entry = await this.find(thumbprint);
    if (!entry) {
      throw new EdgeError(
        'EDGE_OPCUA_UNKNOWN_NAME',
        `no certificate with thumbprint ${thumbprint}`,
      );
    }
    if (entry.status === 'trusted') {
      await this.manager.removeTrustedCertificate(entry.thumbprint);
    } else {
      await unlink(join(this.manager.rejectedFolder, entry.file));
      // the manager indexes rejected certificates in memory: re-read the folders
      await this.manager.reloadCertificates();
    }
    this.log.warn({ thumbprint: entry.thumbprint, status: entry.status }, 'certificate removed');
    return entry;
  }

  async dispose(): Promise<void> {
    if (!this.initPromise) return;
    await this.initPromise.catch(() => undefined);
    await this.manager.dispose();
  }
}

export function thumbprintOf(der: Buffer): string {
  return makeSHA1Thumbprint(der).toString('hex');
}
