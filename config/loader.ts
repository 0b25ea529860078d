import { copyFileSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { isAbsolute, relative as relativePath, resolve as resolvePath, sep } from 'node:path';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from 'typebox';
import { parseDocument, stringify } from 'yaml';
import { lineConfigIssues } from '../edge/engine/line-config-check.js';
import { EdgeError } from '../edge/errors.js';
import { validateGates } from '../edge/gate/settings.js';
import { isRecord, migrate } from './migrations.js';
import { safetyBoundIssues } from './safety-bounds.js';
import { CONFIG_VERSION, ConfigSchema, type GatewayConfig } from './schema.js';

const Ajv = AjvModule.default;

export interface ConfigIssue {
  /** JSON pointer into the configuration, e.g. /line/beltSpeedMmPerS */
  path: string;
  message: string;
}

/** Driver kind schemas, passed in by the composition root (config/ does not import drivers/). */
export type DriverKindSchemas = ReadonlyMap<string, TSchema>;

export interface LoadedConfig {
  config: GatewayConfig;
  migratedFrom: number | null;
  backupPath: string | null;
}

export interface SecretSources {
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
}

const defaultSecretSources: SecretSources = {
  env: process.env,
  readFile: (p) => readFileSync(p, 'utf8').trim(),
};

export class ConfigValidator {
  private readonly ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  private readonly root: ValidateFunction;
  private readonly kinds = new Map<string, ValidateFunction>();

  constructor(driverKinds: DriverKindSchemas) {
    this.root = this.ajv.compile(ConfigSchema);
    for (const [kind, schema] of driverKinds) this.kinds.set(kind, this.ajv.compile(schema));
  }

  /** Validate (filling defaults in place); every problem is returned, none thrown. */
  check(doc: unknown): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    if (!this.root(doc)) issues.push(...toIssues(this.root.errors ?? [], ''));
    if (!isRecord(doc)) return issues;
    const drivers = Array.isArray(doc.drivers) ? (doc.drivers as unknown[]) : [];
    const ids = new Set<string>();
    drivers.forEach((d, i) => {
      if (!isRecord(d)) return;
      const kind = String(d.kind);
      const id = String(d.id);
      if (ids.has(id))
        issues.push({ path: `/drivers/${i}/id`, message: `duplicate driver id '${id}'` });
      ids.add(id);
      const validate = this.kinds.get(kind);
      if (!validate) {
        issues.push({
          path: `/drivers/${i}/kind`,
          message: `unknown driver kind '${kind}' (known: ${[...this.kinds.keys()].join(', ')})`,
        });
        return;
      }
      if (!validate(d)) issues.push(...toIssues(validate.errors ?? [], `/drivers/${i}`));
    });
    if (issues.length === 0) issues.push(...semanticIssues(doc as GatewayConfig));
    return issues;
  }

  /** Validate an already-parsed document; throws EDGE_CONFIG_INVALID listing every issue. */
  parse(doc: unknown): GatewayConfig {
    const issues = this.check(doc);
    if (issues.length > 0) throw invalid(issues);
    return doc as GatewayConfig;
  }
}

export function toIssues(errors: ErrorObject[], prefix: string): ConfigIssue[] {
  return errors
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      let path = prefix + e.instancePath;
      let message = e.message ?? e.keyword;
      if (e.keyword === 'additionalProperties') {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        path = `${path}/${extra}`;
        message = 'unknown property';
      } else if (e.keyword === 'required') {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        path = `${path}/${missing}`;
        message = 'is required';
      } else if (e.keyword === 'not' && path.endsWith('/userIdentity/type')) {
        message =
          'a username identity needs securityMode Sign or SignAndEncrypt (no password in clear)';
      } else if (e.keyword === 'pattern' && /\/tls\/(key|cert|ca)$/.test(path)) {
        message = 'must be a file path (not PEM text, not a ${env:} / ${file:} reference)';
      } else if (e.keyword === 'const' || e.keyword === 'enum') {
        const allowed = e.params as { allowedValue?: unknown; allowedValues?: unknown[] };
        message = `must be ${JSON.stringify(allowed.allowedValue ?? allowed.allowedValues)}`;
      }
      return { path: path || '/', message };
    });
}

function invalid(issues: ConfigIssue[]): EdgeError {
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
  return new EdgeError(
    'EDGE_CONFIG_INVALID',
    `configuration invalid (${issues.length} error${issues.length === 1 ? '' : 's'}):\n${lines}`,
    { details: issues },
  );
}

/** Cross-field checks the schema cannot express: lanes, gates and line geometry. */
export function semanticIssues(c: GatewayConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (c.uplink.url === 'embedded' && !c.embeddedBroker.enabled) {
    issues.push({ path: '/uplink/url', message: "'embedded' needs embeddedBroker.enabled: true" });
  }
  const outputs = new Set(c.gates.outputs.map((o) => o.id));
  // duplicate pins and ids, presence inputs, input roles (edge/gate/settings.ts)
  issues.push(...validateGates(c.gates));
  // lanes, rules, fail-safe geometry and the CT verdict budget (edge/engine/line-config-check.ts)
  issues.push(...lineConfigIssues(c.line, outputs));
  // late fire, safe state, exposure, command keys (config/safety-bounds.ts)
  issues.push(...safetyBoundIssues(c));
  return issues;
}

const REF = /\$\{(env|file):([^}:]+)(?::-([^}]*))?\}/g;
const HAS_REF = /\$\{(env|file):/;

/**
 * Keys whose values may be secret references: user and broker passwords, the TLS key passphrase,
 * tokens. Anywhere else a reference would copy a local file or environment variable into a
 * field the API and the config-get command show, so it is a configuration error.
 */
export const SECRET_FIELD = /^(password|passphrase|secret|token|privateKey|key|passwordHash)$/i;

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
          message:
            'secret references are allowed only in secret fields (password, passphrase, secret, token, privateKey, key, passwordHash)',
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

/** Parse YAML text into a plain tree; syntax errors carry line and column. */
export function parseYaml(text: string, source: string): Record<string, unknown> {
  const parsed = parseDocument(text, { prettyErrors: true });
  if (parsed.errors.length > 0) {
    const issues = parsed.errors.map((e) => ({
      path: `${source}:${e.linePos?.[0]?.line ?? 0}:${e.linePos?.[0]?.col ?? 0}`,
      message: e.message.split('\n')[0] ?? e.message,
    }));
    throw new EdgeError(
      'EDGE_CONFIG_PARSE',
      `configuration ${source} is not valid YAML:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      { details: issues },
    );
  }
  const doc: unknown = parsed.toJS();
  if (!isRecord(doc)) {
    throw new EdgeError('EDGE_CONFIG_PARSE', `configuration ${source} must be a YAML mapping`, {
      details: [{ path: '/', message: 'must be a mapping' }],
    });
  }
  return doc;
}

export interface LoadOptions {
  driverKinds: DriverKindSchemas;
  secrets?: SecretSources;
  /** write the migrated file back (after a backup) */
  persistMigration?: boolean;
  now?: () => Date;
}

/**
 * Load a YAML file: parse, migrate (backup first), resolve secrets, validate. Throws an EdgeError
 * listing every problem with its path; the caller keeps its running config on failure.
 */
export function loadConfigFile(file: string, options: LoadOptions): LoadedConfig {
  const raw = parseYaml(readFileSync(file, 'utf8'), file);
  let migrated;
  try {
    migrated = migrate(raw);
  } catch (err) {
    throw new EdgeError('EDGE_CONFIG_MIGRATION', `${file}: ${(err as Error).message}`, {
      cause: err,
      details: [{ path: '/version', message: (err as Error).message }],
    });
  }
  let backupPath: string | null = null;
  if (migrated.applied.length > 0 && options.persistMigration) {
    const stamp = (options.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
    backupPath = `${file}.v${migrated.fromVersion}.${stamp}.bak`;
    copyFileSync(file, backupPath);
    writeFileSync(file, stringify(migrated.doc), 'utf8');
  }
  const { doc, issues } = resolveSecrets(migrated.doc, options.secrets);
  const validator = new ConfigValidator(options.driverKinds);
  const all = [...issues, ...validator.check(doc)];
  if (all.length > 0) throw invalid(all);
  return {
    config: doc as GatewayConfig,
    migratedFrom: migrated.applied.length > 0 ? migrated.fromVersion : null,
    backupPath,
  };
}

export { CONFIG_VERSION };
