import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { UplinkConfig } from '../../config/schema.js';
import { EdgeError } from '../errors.js';

/** The last will of a connection: the JSON uplink's retained offline status, or an NDEATH. */
export interface ConnectWill {
  topic: string;
  payload: string | Buffer;
  /** default true (the retained offline status); Sparkplug's NDEATH is not retained */
  retain?: boolean;
}

/**
 * mqtt.js options for one connection attempt. Certificates and keys are read on every attempt,
 * so a renewed certificate is picked up at the next reconnect. reconnectPeriod 0: reconnects are
 * the uplink's own (capped backoff with jitter); clean false: a persistent session (MQTT 5 needs
 * a session expiry for that); queueQoSZero false: nothing is queued in mqtt.js's memory.
 */
export function connectOptions(
  config: UplinkConfig,
  gatewayId: string,
  will: ConnectWill,
  session: 'persistent' | 'clean' = 'persistent',
): IClientOptions {
  const clean = session === 'clean';
  const options: IClientOptions = {
    clientId: gatewayId,
    protocolVersion: config.protocolVersion,
    clean,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: config.keepaliveS,
    queueQoSZero: false,
    resubscribe: false,
    will: {
      topic: will.topic,
      payload: typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload,
      qos: 1,
      retain: will.retain ?? true,
    },
  };
  if (config.protocolVersion === 5) {
    options.properties = {
      // a clean session (Sparkplug B: Clean Start true, Session Expiry Interval 0)
      sessionExpiryInterval: clean ? 0 : config.sessionExpiryS,
      // the broker delivers nothing larger (only commands arrive; the largest is a signed one)
      maximumPacketSize: config.commands.maxSignedBytes + INBOUND_OVERHEAD_BYTES,
    };
  }
  if (config.username !== undefined) options.username = config.username;
  if (config.password !== undefined) options.password = config.password;
  const tls = config.tls;
  if (tls) {
    const url = new URL(config.url);
    if (!['mqtts:', 'wss:', 'tls:', 'ssl:'].includes(url.protocol)) {
      throw new EdgeError(
        'EDGE_UPLINK_CONFIG',
        `uplink.tls is set but the url scheme is ${url.protocol} (use mqtts://)`,
      );
    }
    const read = (what: string, path: string): Buffer => readPemFile(`uplink.tls.${what}`, path);
    if (tls.ca) options.ca = read('ca', tls.ca);
    if (tls.cert) options.cert = read('cert', tls.cert);
    if (tls.key) options.key = read('key', tls.key);
    // handed through to tls.connect() by mqtt.js
    if (tls.passphrase !== undefined)
      (options as IClientOptions & { passphrase?: string }).passphrase = tls.passphrase;
    if (tls.servername) options.servername = tls.servername;
    options.rejectUnauthorized = tls.rejectUnauthorized;
  }
  return options;
}

/** topic, packet id and properties of an inbound command beside its payload */
export const INBOUND_OVERHEAD_BYTES = 65_536;

/**
 * Read a TLS certificate, key or CA file. The error names the setting and the path, never file
 * content: a value that is not a path (PEM text pasted in, a resolved secret) is not echoed.
 */
export function readPemFile(setting: string, path: string): Buffer {
  const looksLikePath = path.length <= 1024 && !/[\r\n]/.test(path) && !path.includes('-----');
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new EdgeError(
      'EDGE_UPLINK_CONFIG',
      looksLikePath
        ? `cannot read ${setting} ${path} (${code})`
        : `${setting} is not a file path (it looks like key or certificate content): give the path of the PEM file`,
      looksLikePath ? { cause: err } : {},
    );
  }
}

/** The broker url for logs and health: a password in it is replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
