import type { CommandKeyConfig } from '../../config/command-security-schema.js';
import { SIGNED_ROLE } from '../../edge/commands/command-auth.js';
import {
  generateCommandKey,
  signCommand,
  type SignOptions,
} from '../../edge/commands/command-signer.js';

/**
 * The platform's signing key as the tests hold it: one Ed25519 pair per test process, the
 * `keys:` entry that pins it, and `sign()` for a request as the platform sends it.
 */
export const TEST_ISSUER = 'test-platform';
export const TEST_KID = 'test-platform-1';
const pair = generateCommandKey();
export const TEST_PRIVATE_KEY = pair.privatePem;

export function testCommandKeys(
  roles: CommandKeyConfig['roles'] = ['targeting', 'config', 'officer', 'maintenance', 'replay'],
): CommandKeyConfig[] {
  return [{ id: TEST_KID, issuer: TEST_ISSUER, publicKey: pair.publicKey, roles }];
}

/** A signed command (compact JWS) for `subject` (`<site>/<gateway id>`). */
export function signed(
  command: string,
  request: object | string | Buffer,
  subject: string,
  over: Partial<SignOptions> = {},
): string {
  return signCommand(request, {
    privateKey: TEST_PRIVATE_KEY,
    keyId: TEST_KID,
    issuer: TEST_ISSUER,
    subject,
    command,
    ...over,
  });
}

/** Whether a command must be signed to run (a replay: when large, the tests sign all). */
export function needsSignature(command: string): boolean {
  return SIGNED_ROLE[command] !== undefined;
}

/** The payload the platform sends: signed when the command needs it, plain JSON otherwise. */
export function payloadFor(
  command: string,
  request: object | string,
  subject: string,
  over: Partial<SignOptions> = {},
): string {
  if (typeof request === 'string' || !needsSignature(command)) {
    return typeof request === 'string' ? request : JSON.stringify(request);
  }
  return signed(command, request, subject, over);
}
