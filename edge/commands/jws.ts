import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';

/**
 * JWS compact serialization (RFC 7515 section 7.1) with EdDSA / Ed25519 (RFC 8037), on
 * node:crypto: `BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature)`, the signature
 * over the exact ASCII bytes `header '.' payload`. Nothing is canonicalised or re-serialised: the
 * gateway verifies the bytes it received, then decodes the payload.
 *
 * Compact form rather than the JSON serialization: it is split with two native indexOf calls, so
 * a forged or oversized message costs the event loop nothing proportional to its size before
 * the signature is checked (no JSON.parse of a 17 MB envelope). Any JOSE library produces it
 * (`new CompactSign(payload).setProtectedHeader({...}).sign(key)` in `jose`).
 */

const DOT = 0x2e;
/** a protected header larger than this is refused unread */
export const MAX_HEADER_BYTES = 4096;

export interface CompactParts {
  /** base64url of the protected header */
  header: Buffer;
  /** base64url of the payload (a view into the message, not a copy) */
  payload: Buffer;
  /** the decoded signature */
  signature: Buffer;
  /** `header '.' payload`: the bytes the signature covers (a view) */
  signingInput: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;
export const NOT_COMPACT = 'not a compact JWS (header.payload.signature)';

/**
 * The three parts of a compact JWS, or why the bytes are not one. Only the header and the
 * signature (small) are inspected here; the payload is left for after the signature verified.
 */
export function splitCompact(bytes: Buffer): CompactParts | string {
  const first = bytes.indexOf(DOT);
  if (first <= 0) return NOT_COMPACT;
  if (first > MAX_HEADER_BYTES) return `protected header over ${MAX_HEADER_BYTES} bytes`;
  const second = bytes.indexOf(DOT, first + 1);
  if (second < 0) return NOT_COMPACT;
  if (bytes.length - second - 1 > 128) return 'malformed signature part';
  const sigText = bytes.subarray(second + 1).toString('latin1');
  if (sigText.length > 128 || !B64URL.test(sigText) || sigText.includes('.'))
    return 'malformed signature part';
  const header = bytes.subarray(0, first);
  if (!B64URL.test(header.toString('latin1'))) return 'malformed protected header';
  return {
    header,
    payload: bytes.subarray(first + 1, second),
    signature: Buffer.from(sigText, 'base64url'),
    signingInput: bytes.subarray(0, second),
  };
}

/** The protected header as an object (it is at most MAX_HEADER_BYTES of base64url). */
export function decodeHeader(header: Buffer): Record<string, unknown> | string {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(header.toString('latin1'), 'base64url').toString('utf8'));
  } catch {
    return 'protected header is not base64url JSON';
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return 'protected header is not a JSON object';
  return doc as Record<string, unknown>;
}

/** Verify an Ed25519 signature; large inputs are verified on libuv's thread pool. */
export function verifyEd25519(
  signingInput: Buffer,
  signature: Buffer,
  key: KeyObject,
  asyncAboveBytes = 65_536,
): Promise<boolean> {
  if (signature.length !== 64) return Promise.resolve(false);
  if (signingInput.length <= asyncAboveBytes) {
    try {
      return Promise.resolve(cryptoVerify(null, signingInput, key, signature));
    } catch {
      return Promise.resolve(false);
    }
  }
  return new Promise((resolve) => {
    cryptoVerify(null, signingInput, key, signature, (err, ok) => resolve(!err && ok));
  });
}

/** Sign `payload` (exact bytes) under `header` (alg EdDSA is set here): a compact JWS. */
export function signCompact(
  header: Record<string, unknown>,
  payload: Buffer | string,
  privateKey: KeyObject,
): string {
  const h = Buffer.from(JSON.stringify({ ...header, alg: 'EdDSA' })).toString('base64url');
  const p = Buffer.from(payload).toString('base64url');
  const signature = cryptoSign(null, Buffer.from(`${h}.${p}`, 'latin1'), privateKey);
  return `${h}.${p}.${signature.toString('base64url')}`;
}
