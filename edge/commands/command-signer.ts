import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SIGNED_ROLE } from './command-auth.js';
import { signCompact } from './jws.js';

/**
 * The platform side of signed commands (for the platform, tests and the sign-cli tool): a key
 * pair, and a request signed as the gateway's CommandAuthority expects it (command-auth.ts).
 */

export interface SignOptions {
  /** PEM (PKCS#8) text or a KeyObject */
  privateKey: string | KeyObject;
  keyId: string;
  issuer: string;
  /** `<site>/<gateway id>` of the gateway it is for */
  subject: string;
  /** the command (topic) name */
  command: string;
  /** default: the role the command needs (SIGNED_ROLE), else 'replay' */
  role?: string;
  /** exp - iat in seconds (default 60) */
  ttlS?: number;
  /** the person on the platform who asked */
  actor?: string;
  /** default: 24 random bytes, base64url */
  nonce?: string;
  /** default Date.now() */
  nowMs?: number;
  /** header fields set or replaced as given (tests of refusals) */
  header?: Record<string, unknown>;
}

/** A compact JWS carrying `request` (an object is serialised once; text/bytes are signed as is). */
export function signCommand(request: object | string | Buffer, o: SignOptions): string {
  const key = typeof o.privateKey === 'string' ? createPrivateKey(o.privateKey) : o.privateKey;
  const iat = Math.floor((o.nowMs ?? Date.now()) / 1000);
  const payload =
    typeof request === 'string' || Buffer.isBuffer(request) ? request : JSON.stringify(request);
  return signCompact(
    {
      kid: o.keyId,
      typ: 'customs-command+jws',
      iss: o.issuer,
      sub: o.subject,
      cmd: o.command,
      role: o.role ?? SIGNED_ROLE[o.command] ?? 'replay',
      iat,
      exp: iat + (o.ttlS ?? 60),
      jti: o.nonce ?? randomBytes(24).toString('base64url'),
      ...(o.actor ? { act: o.actor } : {}),
      ...o.header,
    },
    payload,
    key,
  );
}

/** A new Ed25519 key pair: the private key as PKCS#8 PEM, the public one as base64 SPKI DER. */
export function generateCommandKey(): { privatePem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}
