import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative as relativePath, resolve as resolvePath, sep } from 'node:path';
import { isRecord } from './migrations.js';

/**
 * Secrets in one place: which configuration fields hold secrets, how `${env:NAME}`,
 * `${env:NAME:-default}` and `${file:PATH}` references in them are resolved, and how a
 * configuration (or anything holding one: a command's arguments, a health snapshot) is shown
 * without them. Config, HTTP, platform commands and logs all use these.
 */

export interface ConfigIssue {
  /** JSON pointer into the configuration, e.g. /line/beltSpeedMmPerS */
  path: string;
  message: string;
}

export interface SecretSources {
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
}

export const defaultSecretSources: SecretSources = {
  env: process.env,
  readFile: (p) => readFileSync(p, 'utf8').trim(),
};

/** The value shown in place of a secret. Never accepted back as a value. */
export const REDACTED = '[redacted]';

const REF = /\$\{(env|file):([^}:]+)(?::-([^}]*))?\}/g;
const HAS_REF = /\$\{(env|file):/;

/**
 * Keys whose values may be secret references: user and broker passwords, the TLS key passphrase,
 * tokens. Anywhere else a reference would copy a local file or environment variable into a
 * field the API and the config-get command show, so it is a configuration error.
 */
export const SECRET_FIELD_NAMES = [
  'password',
  'passwordHash',
  'passphrase',
  'privateKey',
  'key',
  'secret',
  'token',
] as const;
export const SECRET_FIELD = new RegExp(`^(${SECRET_FIELD_NAMES.join('|')})$`, 'i');

export interface ResolveOptions {
  /**
   * Directories ${file:PATH} may read from (configurations that arrive remotely). Absent: any
   * path (the file loaded at start is written by whoever administers the device).
   */
  fileRoots?: readonly string[];
}

/**
 * Replace ${env:NAME}, ${env:NAME:-default} and ${file:PATH} in secret fields (SECRET_FIELD);
 * a reference in any other field is an issue and is left unresolved.
 */
export function resolveSecrets(
  doc: unknown,
  sources: SecretSources = defaultSecretSources,
  options: ResolveOptions = {},
): { doc: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const roots = options.fileRoots?.map(realDir);
  const walk = (v: unknown, path: string, key: string | null): unknown => {
    if (typeof v === 'string') {
      if (!HAS_REF.test(v)) return v;
      if (key === null || !SECRET_FIELD.test(key)) {
        issues.push({
          path: path || '/',
          message: `secret references are allowed only in secret fields (${SECRET_FIELD_NAMES.join(', ')})`,
        });
        return v;
      }
      return v.replace(REF, (_m, source: string, name: string, fallback: string | undefined) => {
        if (source === 'env') {
          const value = sources.env[name];
          if (value !== undefined && value !== '') return value;
          if (fallback !== undefined) return fallback;
          issues.push({ path, message: `environment variable ${name} is not set` });
          return '';
        }
        if (roots && !roots.some((root) => isInside(root, realFile(name)))) {
          issues.push({
            path,
            message: `secret file ${name} is outside the allowed directories (${roots.join(', ')})`,
          });
          return '';
        }
        try {
          return sources.readFile(name);
        } catch (err) {
          issues.push({
            path,
            message: `secret file ${name} unreadable: ${(err as Error).message}`,
          });
          return '';
        }
      });
    }
    // an array's items belong to the key that holds the array
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}/${i}`, key));
    if (isRecord(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, `${path}/${k}`, k);
      return out;
    }
    return v;
  };
  return { doc: walk(doc, '', null), issues };
}

function realDir(dir: string): string {
  try {
    return realpathSync(resolvePath(dir));
  } catch {
    return resolvePath(dir);
  }
}

/** The file a path names after symbolic links (a link under an allowed root may point outside). */
function realFile(path: string): string {
  try {
    return realpathSync(resolvePath(path));
  } catch {
    return resolvePath(path);
  }
}

function isInside(root: string, file: string): boolean {
  const rel = relativePath(root, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Any string that parses as a URL carrying a password gets the password replaced; others unchanged. */
export function withoutUrlPassword(value: string): string {
  if (!value.includes('@')) return value;
  try {
    const u = new URL(value);
    if (!u.password) return value;
    u.password = 'redacted';
    return u.toString();
  } catch {
    return value;
  }
}

/** A deep copy with every secret value replaced, for showing a configuration to a technician. */
export function withoutSecrets(value: unknown): unknown {
  if (typeof value === 'string') return withoutUrlPassword(value);
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_FIELD.test(k) && v !== undefined && v !== null ? REDACTED : withoutSecrets(v);
    }
    return out;
  }
  return value;
}
