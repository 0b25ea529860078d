import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CliError, type CliIo } from './io.js';

/**
 * HTTP user passwords for the configuration's `http.users[].passwordHash`: the format
 * edge/http/auth.ts reads, `scrypt$<salt hex>$<hash hex>` (16-byte salt, 32-byte key, Node's
 * default scrypt cost N=16384, r=8, p=1), computed asynchronously (a CLI may hash while the
 * gateway runs on the same core). A password is read from a prompt without echo, from stdin
 * (`--password-stdin`) or from a file (`--password-file`): never from the command line, where
 * `ps` and the shell history would show it.
 */

export const MIN_PASSWORD_LENGTH = 10;
const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string, salt = randomBytes(16)): Promise<string> {
  const key = await scryptAsync(password, salt);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, salt, hash] = encoded.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'hex');
  const key = await scryptAsync(password, Buffer.from(salt, 'hex'));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Why a new password is refused, or null. */
export function passwordProblem(password: string, user: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `too short (at least ${MIN_PASSWORD_LENGTH} characters)`;
  if (password.toLowerCase().includes(user.toLowerCase())) return 'contains the user name';
  if (/^(.)\1*$/.test(password)) return 'one character repeated';
  return null;
}

export interface PasswordSource {
  passwordStdin?: boolean;
  passwordFile?: string;
}

/** A new password for `user`: from stdin, a file, or asked twice at the terminal. */
export async function readNewPassword(
  io: CliIo,
  user: string,
  source: PasswordSource,
): Promise<string> {
  let password: string;
  if (source.passwordFile) {
    password = readFileSync(source.passwordFile, 'utf8').replace(/\r?\n$/, '');
  } else if (source.passwordStdin) {
    password = (await io.readStdin()).replace(/\r?\n$/, '');
  } else if (io.isTTY) {
    password = await io.prompt(`New password for ${user}: `, { hidden: true });
    const again = await io.prompt('Repeat it: ', { hidden: true });
    if (again !== password) throw new CliError('the two passwords differ');
  } else {
    throw new CliError(
      'no terminal to ask for the password: pass --password-stdin (and pipe it in) or --password-file FILE',
    );
  }
  const problem = passwordProblem(password, user);
  if (problem) throw new CliError(`password refused: ${problem}`);
  return password;
}
