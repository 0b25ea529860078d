import { readFileSync } from 'node:fs';
import {
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  UserTokenType,
  type UserIdentityInfo,
} from 'node-opcua-client';
import { readCertificate, split_der } from 'node-opcua-crypto';
import { EdgeError } from '../../edge/errors.js';
import { thumbprintOf, type CertificateStore } from './certificate-store.js';
import type { OpcuaServerConfig } from './config-schema.js';

/**
 * node-opcua clients for one server: the gateway's PKI as certificate manager (never the
 * auto-accepting default), keepSessionAlive, node-opcua's reconnection with `maxRetry` chosen
 * by the caller, user identity from the configuration.
 */

const PROBE_TIMEOUT_MS = 10_000;

export interface ClientSettings {
  config: OpcuaServerConfig;
  store: CertificateStore;
  applicationName: string;
}

export function createClient(
  s: ClientSettings,
  securityMode: string,
  securityPolicy: string,
  maxRetry: number,
): OPCUAClient {
  return OPCUAClient.create({
    applicationName: s.applicationName,
    clientName: `${s.applicationName}-${s.config.id}`,
    // a None probe needs no trust; a pinned server is accepted by its pin, never via trusted/
    clientCertificateManager:
      s.config.serverCertificateThumbprint && securityMode !== 'None'
        ? s.store.pinnedView(s.config.serverCertificateThumbprint)
        : s.store.manager,
    securityMode: MessageSecurityMode[securityMode as keyof typeof MessageSecurityMode],
    securityPolicy:
      securityMode === 'None'
        ? SecurityPolicy.None
        : SecurityPolicy[securityPolicy as keyof typeof SecurityPolicy],
    endpointMustExist: false,
    keepSessionAlive: true,
    requestedSessionTimeout: s.config.sessionTimeoutMs,
    connectionStrategy: {
      maxRetry,
      initialDelay: s.config.backoff.initialMs,
      maxDelay: s.config.backoff.maxMs,
      randomisationFactor: 0.5,
    },
  });
}

/** From now on this client reconnects forever (node-opcua's own backoff with jitter). */
export function reconnectForever(client: OPCUAClient): void {
  const strategy = (client as unknown as { connectionStrategy?: { maxRetry: number } })
    .connectionStrategy;
  if (strategy) strategy.maxRetry = -1;
}

export function userIdentityOf(config: OpcuaServerConfig): UserIdentityInfo {
  const u = config.userIdentity;
  if (u.type === 'username') {
    return { type: UserTokenType.UserName, userName: u.username, password: u.password };
  }
  if (u.type === 'certificate') {
    try {
      return {
        type: UserTokenType.Certificate,
        certificateData: readCertificate(u.certificateFile),
        privateKey: readFileSync(u.privateKeyFile, 'utf8'),
      };
    } catch (err) {
      throw new EdgeError('EDGE_OPCUA_IDENTITY', `user certificate: ${(err as Error).message}`);
    }
  }
  return { type: UserTokenType.Anonymous };
}

/** The server's certificate (leaf, DER) read from its endpoints over a None channel. */
export async function probeServerCertificate(s: ClientSettings): Promise<Buffer | null> {
  const probe = createClient(s, 'None', 'None', 0);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('endpoint probe timed out')), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe.connect(s.config.endpointUrl), timeout]);
    const endpoints = await Promise.race([probe.getEndpoints(), timeout]);
    const cert = endpoints
      .map((e) => e.serverCertificate)
      .find((c): c is Buffer => Buffer.isBuffer(c) && c.length > 0);
    return cert ? (split_der(cert)[0] ?? cert) : null;
  } finally {
    clearTimeout(timer);
    await probe.disconnect().catch(() => undefined);
  }
}

/**
 * Pinned thumbprint: probe the server certificate before connecting and refuse a different one
 * with a clear error (EDGE_OPCUA_CERT_PIN_MISMATCH); the client then accepts exactly that
 * certificate (CertificateStore.pinnedView). `seen` gets the thumbprint the server offers.
 */
export async function checkPinnedCertificate(
  s: ClientSettings,
  seen: (thumbprint: string) => void,
): Promise<void> {
  const pin = s.config.serverCertificateThumbprint?.toLowerCase();
  if (!pin) return;
  const leaf = await probeServerCertificate(s);
  if (!leaf) throw new EdgeError('EDGE_OPCUA_CERT_PIN_MISMATCH', 'server offers no certificate');
  const thumbprint = thumbprintOf(leaf);
  seen(thumbprint);
  if (thumbprint !== pin) {
    throw new EdgeError(
      'EDGE_OPCUA_CERT_PIN_MISMATCH',
      `server certificate ${thumbprint} is not the pinned ${pin}`,
    );
  }
}

/** The server refused us because we do not trust its certificate (or it does not trust ours). */
/** The server refused our secure channel: almost always it does not trust the gateway's certificate. */
export function isRefusedByServer(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /BadSecurityChecksFailed|0x80130000/i.test(message);
}

export function isUntrusted(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /BadCertificateUntrusted|Certificate verification failed/i.test(message);
}

export function leafOf(cert: Buffer | Buffer[] | undefined): Buffer | null {
  const der = Array.isArray(cert) ? cert[0] : cert;
  return der ? (split_der(der)[0] ?? der) : null;
}
