import { readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { SerialBinding, SerialPortInfo } from './port.js';

/**
 * The technician's port list: what serialport enumerates, merged with the stable
 * /dev/serial/by-id names (a replugged USB adapter may come back as another ttyUSB; its by-id
 * name stays). Enumeration failing (no udevadm, no /dev/serial) is reported, never thrown.
 */
export interface ListedPort extends SerialPortInfo {
  /** /dev/serial/by-id/... links pointing at this device */
  byId: string[];
}

export interface PortListing {
  ports: ListedPort[];
  errors: string[];
}

export function readByIdLinks(dir: string): { links: Map<string, string[]>; error: string | null } {
  const links = new Map<string, string[]>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // no by-id directory simply means no USB serial device is plugged in
    return { links, error: code === 'ENOENT' ? null : `${dir}: ${(err as Error).message}` };
  }
  for (const name of names.sort()) {
    const link = join(dir, name);
    try {
      const target = realpathSync(link);
      links.set(target, [...(links.get(target) ?? []), link]);
    } catch {
      // a dangling link: the device went away between readdir and realpath
    }
  }
  return { links, error: null };
}

export async function listSerialPorts(
  binding: SerialBinding,
  byIdDir = '/dev/serial/by-id',
  timeoutMs = 5000,
): Promise<PortListing> {
  const errors: string[] = [];
  let listed: SerialPortInfo[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    listed = await Promise.race([
      binding.list(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    errors.push(`port enumeration failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  const { links, error } = readByIdLinks(byIdDir);
  if (error) errors.push(error);
  const byPath = new Map<string, ListedPort>();
  for (const p of listed) {
    let real = p.path;
    try {
      real = realpathSync(p.path);
    } catch {
      // keep the listed path
    }
    byPath.set(real, { ...p, byId: links.get(real) ?? [] });
  }
  for (const [target, names] of links)
    if (!byPath.has(target)) byPath.set(target, { path: target, byId: names });
  return {
    ports: [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path)),
    errors,
  };
}
