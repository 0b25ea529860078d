import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The installed package (/opt/customs-edge in production, the repository in development): its
 * version and the example lines in config/examples that `init` starts a configuration from.
 */

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && existsSync(join(dir, 'config/examples'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('package root (package.json next to config/examples) not found');
}

export function packageVersion(): string {
  return (
    JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
  ).version;
}

/** Template names: config/examples/<name>.yaml (simulated-line, serial-line, opcua-line...). */
export function templateNames(): string[] {
  return readdirSync(join(packageRoot(), 'config/examples'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

export function templateFile(name: string): string {
  return join(packageRoot(), 'config/examples', `${name}.yaml`);
}
