import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { result, type CheckContext, type CheckResult } from './check-types.js';
import {
  certificateInfo,
  daysLeft,
  opcuaApplicationUri,
  opcuaCertificateFiles,
  readCertificates,
} from './pki.js';

/**
 * Network checks: the platform broker (TCP, then TLS with the configured CA and client
 * certificate; no MQTT session, which would take the running gateway's client id) and every
 * OPC UA server (TCP; for a secured endpoint, its certificate read over a None channel and
 * compared with the pin or the trusted/ folder), plus the gateway's own certificates' dates.
 */

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function reach(host: string, port: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve(Math.round(performance.now() - started));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const TLS_FIXES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'uplink.tls.ca must be the CA (chain) that signed the broker certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    'uplink.tls.ca must be the CA (chain) that signed the broker certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'put that root CA in uplink.tls.ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: "put the broker's own certificate (or its CA) in uplink.tls.ca",
  CERT_HAS_EXPIRED: 'the broker certificate expired: ask the platform team to renew it',
  CERT_NOT_YET_VALID: 'the broker certificate is not valid yet: is this clock right?',
  ERR_TLS_CERT_ALTNAME_INVALID:
    'the broker certificate does not name this host: connect by the name in it, or set uplink.tls.servername',
};

function tlsHandshake(
  options: ConnectionOptions,
  timeoutMs: number,
): Promise<{ peer: X509Certificate | null; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(options);
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const peer = socket.getPeerX509Certificate() ?? null;
      const protocol = socket.getProtocol();
      socket.destroy();
      if (err) reject(err);
      else resolve({ peer, protocol });
    };
    const timer = setTimeout(
      () => finish(new Error(`TLS: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      // TLS 1.3 refuses a client certificate after the handshake: wait for that alert briefly
      setTimeout(() => finish(null), 300);
    });
    socket.once('error', (err: Error) => finish(err));
  });
}

async function brokerChecks(c: CheckContext): Promise<CheckResult[]> {
  const uplink = rec(c.tool.doc.uplink);
  const url = typeof uplink.url === 'string' ? uplink.url : 'embedded';
  const out: CheckResult[] = [];
  const tls = rec(uplink.tls);
  if (typeof tls.cert === 'string' && existsSync(tls.cert)) {
    const info = certificateInfo(readCertificates(tls.cert)[0]!);
    const days = daysLeft(info, c.now);
    out.push(
      days < 0
        ? result(
            'mqtt-cert',
            'fail',
            `${tls.cert} expired ${info.notAfter.toISOString()}`,
            'send a new CSR (customs-edge init --force makes one) and customs-edge cert install the answer',
          )
        : days < 30
          ? result(
              'mqtt-cert',
              'warn',
              `${tls.cert} expires in ${days} days`,
              'renew it: sign client.csr again and customs-edge cert install',
            )
          : result('mqtt-cert', 'ok', `${info.subject}, valid ${days} more days`),
    );
  } else if (url.startsWith('mqtts:'))
    out.push(
      result(
        'mqtt-cert',
        'warn',
        'no client certificate configured (uplink.tls.cert): the broker may require one',
        'customs-edge cert install SIGNED.pem --ca CA.pem',
      ),
    );
  if (url === 'embedded')
    return [
      ...out,
      result('broker', 'skip', 'uplink to the embedded broker: no platform broker configured'),
    ];
  if (c.offline) return [...out, result('broker', 'skip', `${url}: --offline`)];
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [...out, result('broker', 'fail', `uplink.url ${url} is not a URL`)];
  }
  const secure = u.protocol === 'mqtts:' || u.protocol === 'wss:';
  const port = Number(u.port || (secure ? 8883 : 1883));
  try {
    const ms = await reach(u.hostname, port, c.timeoutMs);
    out.push(result('broker', 'ok', `${u.hostname}:${port} reached in ${ms} ms`));
  } catch (err) {
    out.push(
      result(
        'broker',
        'fail',
        `${u.hostname}:${port} unreachable: ${(err as Error).message}`,
        'check the address, DNS, the route and firewalls to the platform broker',
      ),
    );
    return out;
  }
  if (!secure) {
    out.push(
      result(
        'broker-tls',
        'warn',
        `${url} is not TLS: events cross the network in clear`,
        'use mqtts:// with uplink.tls (docs/install.md)',
      ),
    );
    return out;
  }
  try {
    const read = (f: unknown) => (typeof f === 'string' ? readFileSync(f) : undefined);
    const { peer, protocol } = await tlsHandshake(
      {
        host: u.hostname,
        port,
        servername: typeof tls.servername === 'string' ? tls.servername : u.hostname,
        ca: read(tls.ca),
        cert: read(tls.cert),
        key: read(tls.key),
        ...(typeof tls.passphrase === 'string' ? { passphrase: tls.passphrase } : {}),
        rejectUnauthorized: tls.rejectUnauthorized !== false,
      },
      c.timeoutMs,
    );
    const info = peer ? certificateInfo(peer) : null;
    const days = info ? daysLeft(info, c.now) : NaN;
    out.push(
      result(
        'broker-tls',
        tls.rejectUnauthorized === false ? 'warn' : days < 30 ? 'warn' : 'ok',
        `${protocol ?? 'TLS'}, broker ${info?.subject ?? '?'} (issuer ${info?.issuer ?? '?'}), ${days} days left${tls.rejectUnauthorized === false ? '; rejectUnauthorized: false accepts ANY broker' : ''}`,
        tls.rejectUnauthorized === false
          ? 'remove uplink.tls.rejectUnauthorized: false and set uplink.tls.ca'
          : undefined,
      ),
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    out.push(
      result(
        'broker-tls',
        'fail',
        `TLS to ${u.hostname}:${port}: ${(err as Error).message}`,
        TLS_FIXES[code] ??
          (/certificate|alert/i.test((err as Error).message)
            ? 'the broker refused this client certificate: was it signed by the CA the broker trusts? customs-edge cert install'
            : 'check uplink.tls (ca, cert, key) and the broker port'),
      ),
    );
  }
  return out;
}

function sha1Thumbprint(der: Buffer | string): string {
  return new X509Certificate(der).fingerprint.replace(/:/g, '').toLowerCase();
}

function thumbprintsIn(dir: string): Set<string> {
  const out = new Set<string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) {
    if (!/\.(pem|der)$/i.test(f)) continue;
    try {
      out.add(sha1Thumbprint(readFileSync(join(dir, f))));
    } catch {
      /* not a certificate */
    }
  }
  return out;
}

async function serverThumbprint(endpointUrl: string, timeoutMs: number): Promise<string | null> {
  const pki = mkdtempSync(join(tmpdir(), 'customs-edge-check-'));
  const { OPCUAClient, MessageSecurityMode, SecurityPolicy } = await import('node-opcua-client');
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  const client = OPCUAClient.create({
    applicationName: 'customs-edge-check',
    clientCertificateManager: new OPCUACertificateManager({
      rootFolder: pki,
      disableFileWatchers: true,
    }),
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect(endpointUrl), timeout]);
    const endpoints = await Promise.race([client.getEndpoints(), timeout]);
    const cert = endpoints.map((e) => e.serverCertificate).find((b) => b && b.length > 0);
    if (!cert) return null;
    const { split_der } = await import('node-opcua-crypto');
    return sha1Thumbprint(split_der(cert)[0] ?? cert); // the leaf of a chain
  } finally {
    clearTimeout(timer);
    await client.disconnect().catch(() => undefined);
    rmSync(pki, { recursive: true, force: true });
  }
}

async function opcuaChecks(c: CheckContext): Promise<CheckResult[]> {
  const drivers = (Array.isArray(c.tool.doc.drivers) ? c.tool.doc.drivers : [])
    .map(rec)
    .filter((d) => d.kind === 'opcua' && d.enabled !== false);
  if (drivers.length === 0) return [result('opcua', 'skip', 'no OPC UA driver configured')];
  const out: CheckResult[] = [];
  for (const pki of c.paths.opcuaPkiDirs) {
    const { certificate } = opcuaCertificateFiles(pki.dir);
    const id = `opcua-cert ${pki.driverId}`;
    if (!existsSync(certificate)) {
      out.push(
        result(
          id,
          'warn',
          `no application certificate in ${pki.dir} yet (the gateway makes one at its first secured connect)`,
          'make it now so the server administrators can trust it first: customs-edge init (or start the gateway once)',
        ),
      );
      continue;
    }
    const info = certificateInfo(readCertificates(certificate)[0]!);
    const uri = opcuaApplicationUri(pki.applicationName);
    const days = daysLeft(info, c.now);
    if (!info.subjectAltName?.includes(`URI:${uri}`))
      out.push(
        result(
          id,
          'fail',
          `${certificate} names ${info.subjectAltName ?? 'no URI'}, the client presents ${uri} (hostname changed?): servers refuse the session`,
          `move ${pki.dir}/own aside, start the gateway (it makes a new one) and have the servers trust the new certificate`,
        ),
      );
    else if (days < 60)
      out.push(
        result(
          id,
          days < 0 ? 'fail' : 'warn',
          `${certificate} expires ${info.notAfter.toISOString()}`,
          'make a new one and have the servers trust it',
        ),
      );
    else
      out.push(
        result(id, 'ok', `${uri}, sha256 ${info.sha256.slice(0, 23)}..., ${days} days left`),
      );
  }
  for (const d of drivers) {
    const pki = c.paths.opcuaPkiDirs.find((p) => p.driverId === d.id);
    const servers = Array.isArray(d.servers) ? d.servers.map(rec) : [];
    for (const s of servers) {
      const id = `opcua ${String(s.id)}`;
      const endpoint = typeof s.endpointUrl === 'string' ? s.endpointUrl : '';
      if (c.offline) {
        out.push(result(id, 'skip', `${endpoint}: --offline`));
        continue;
      }
      const m = /^opc\.tcp:\/\/([^:/]+)(?::(\d+))?/.exec(endpoint);
      if (!m) {
        out.push(result(id, 'fail', `endpointUrl ${endpoint} is not opc.tcp://host:port`));
        continue;
      }
      try {
        const ms = await reach(m[1]!, Number(m[2] ?? 4840), c.timeoutMs);
        out.push(
          result(
            id,
            'ok',
            `${endpoint} reached in ${ms} ms (securityMode ${String(s.securityMode)})`,
          ),
        );
      } catch (err) {
        out.push(
          result(
            id,
            'fail',
            `${endpoint} unreachable: ${(err as Error).message}`,
            'check the address, the route and the server',
          ),
        );
        continue;
      }
      if (s.securityMode === 'None') continue;
      let thumbprint: string | null;
      try {
        thumbprint = await serverThumbprint(endpoint, c.timeoutMs);
      } catch (err) {
        out.push(
          result(
            `${id} cert`,
            'warn',
            `could not read the server certificate: ${(err as Error).message}`,
          ),
        );
        continue;
      }
      const pin =
        typeof s.serverCertificateThumbprint === 'string'
          ? s.serverCertificateThumbprint.toLowerCase()
          : null;
      const trusted = pki ? thumbprintsIn(join(pki.dir, 'trusted/certs')) : new Set<string>();
      const rejected = pki ? thumbprintsIn(join(pki.dir, 'rejected')) : new Set<string>();
      if (!thumbprint)
        out.push(result(`${id} cert`, 'fail', 'the server offers no certificate on its endpoints'));
      else if (pin)
        out.push(
          pin === thumbprint
            ? result(`${id} cert`, 'ok', `server certificate ${thumbprint} matches the pin`)
            : result(
                `${id} cert`,
                'fail',
                `server certificate ${thumbprint} differs from the pinned ${pin}`,
                'compare with the server administrator; a new server certificate needs a new pin',
              ),
        );
      else if (trusted.has(thumbprint))
        out.push(result(`${id} cert`, 'ok', `server certificate ${thumbprint} is trusted`));
      else
        out.push(
          result(
            `${id} cert`,
            'fail',
            `server certificate ${thumbprint} is ${rejected.has(thumbprint) ? 'in rejected/' : 'not trusted (not seen yet)'}`,
            `compare the thumbprint with the server's, then trust it: POST /api/opcua/certificates/${thumbprint}/trust (technician)${rejected.has(thumbprint) ? '' : ' once the gateway has connected'}, or pin it (serverCertificateThumbprint)`,
          ),
        );
    }
  }
  return out;
}

export async function networkChecks(c: CheckContext): Promise<CheckResult[]> {
  return [...(await brokerChecks(c)), ...(await opcuaChecks(c))];
}
