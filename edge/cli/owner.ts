import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './io.js';

/**
 * The system account the unit runs as (provisioning/customs-edge.service: customs-edge). Files
 * `init` and `restore` write as root are handed to it; secrets.env stays root's (systemd reads
 * the EnvironmentFile before it drops privileges).
 */

export const SERVICE_USER = 'customs-edge';

export interface Account {
  name: string;
  uid: number;
  gid: number;
  groups: string[];
}

export function lookupAccount(name: string): Account | null {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return null;
  }
  const line = passwd.split('\n').find((l) => l.split(':')[0] === name);
  if (!line) return null;
  const [, , uid, gid] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid), groups: groupsOf(name, Number(gid)) };
}

/** Names of the groups `user` is in (primary group by gid, supplementary from /etc/group). */
export function groupsOf(user: string, gid: number): string[] {
  try {
    return readFileSync('/etc/group', 'utf8')
      .split('\n')
      .filter(Boolean)
      .filter((l) => {
        const [, , g, members] = l.split(':');
        return Number(g) === gid || (members ?? '').split(',').includes(user);
      })
      .map((l) => l.split(':')[0]!);
  } catch {
    return [];
  }
}

/**
 * The owner for new files: the named account (must exist), or by default the service account
 * when it exists and this runs as root; null: leave ownership as it is.
 */
export function serviceAccount(name: string | undefined): Account | null {
  if (name) {
    const account = lookupAccount(name);
    if (!account) throw new CliError(`--owner ${name}: no such user (useradd --system ...)`);
    return account;
  }
  if (process.getuid?.() !== 0) return null;
  return lookupAccount(SERVICE_USER);
}

export function chownTree(
  path: string,
  owner: Account,
  o: { keepRootOwned?: string[] } = {},
): void {
  if (!existsSync(path) || process.getuid?.() !== 0) return;
  if (!o.keepRootOwned?.includes(path)) chownSync(path, owner.uid, owner.gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, owner, o);
    else if (!o.keepRootOwned?.includes(child)) chownSync(child, owner.uid, owner.gid);
  }
}
