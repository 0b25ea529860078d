import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import type { HttpTlsConfig } from '../../config/http-schema.js';
import { EdgeError } from '../errors.js';

/**
 * HTTPS for the technician / inspector API (`http.tls`): certificate, key and CA are file paths
 * (the schema refuses PEM text and secret references there), read at start. An error names the
 * setting, the path and the system error code, never file content or the passphrase.
 */
export interface HttpsServerOptions extends SecureContextOptions {
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

export function httpsOptions(tls: HttpTlsConfig | undefined): HttpsServerOptions | null {
  if (!tls) return null;
  const read = (setting: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new EdgeError('EDGE_HTTP_TLS', `cannot read http.tls.${setting} ${path} (${code})`);
    }
  };
  return {
    cert: read('cert', tls.cert),
    key: read('key', tls.key),
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    // a CA: clients must present a certificate it signed
    ...(tls.ca ? { ca: read('ca', tls.ca), requestCert: true, rejectUnauthorized: true } : {}),
  };
}
