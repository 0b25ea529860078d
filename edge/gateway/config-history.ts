import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ConfigVersion } from './config-control.js';

/**
 * Earlier versions of the configuration file: the backups written before every change
 * (`<file>.<time>.bak`) and before a migration (`<file>.v<N>.<time>.bak`), newest first.
 */

const STAMP = /^(v\d+\.)?(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)$/;

function stampToIso(stamp: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z$/.exec(stamp);
  return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z` : stamp;
}

export function configVersions(file: string, limit = 50): ConfigVersion[] {
  const dir = dirname(file);
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const versions: ConfigVersion[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.bak')) continue;
    const id = name.slice(prefix.length, -'.bak'.length);
    const m = STAMP.exec(id);
    if (!m?.[2]) continue;
    try {
      versions.push({ id, at: stampToIso(m[2]), bytes: statSync(join(dir, name)).size });
    } catch {
      // removed meanwhile
    }
  }
  return versions.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, limit);
}

/** The text of one earlier version, or null (unknown id; ids are checked, never a free path). */
export function configVersionText(file: string, id: string): string | null {
  if (!STAMP.test(id)) return null;
  try {
    return readFileSync(`${file}.${id}.bak`, 'utf8');
  } catch {
    return null;
  }
}
