import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from 'typebox';
import { parseDocument, stringify } from 'yaml';
import { semanticIssuesOf } from './cross-checks.js';
import { EdgeError } from '../edge/errors.js';
import { isRecord, migrate } from './migrations.js';
import type { PrecompiledConfigValidators } from './precompiled-validators.js';
import { CONFIG_VERSION, ConfigSchema, type GatewayConfig } from './schema.js';
import { resolveSecrets, type ConfigIssue, type SecretSources } from './secrets.js';

export type { ConfigIssue, SecretSources };
export { resolveSecrets };

const Ajv = AjvModule.default;

/** Driver kind schemas, passed in by the composition root (config/ does not import drivers/). */
export type DriverKindSchemas = ReadonlyMap<string, TSchema>;

export interface LoadedConfig {
  config: GatewayConfig;
  /** the file's document after migration, secret references unresolved (what an edit starts from) */
  document: Record<string, unknown>;
  migratedFrom: number | null;
  backupPath: string | null;
}

export class ConfigValidator {
  // optimize: false skips Ajv's code-optimisation passes: ~40 % less compile time at start-up
  // (a configuration is validated a few times, the validator's speed does not matter)
  private readonly ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    strict: false,
    code: { optimize: false },
  });
  private readonly root: ValidateFunction;
  private readonly kinds = new Map<string, ValidateFunction>();

  /**
   * `precompiled`: validators the production bundle compiled ahead of time from the same
   * schemas (config/precompiled-validators.ts); only for the driver kinds they were made from.
   */
  constructor(
    private readonly driverKinds: DriverKindSchemas,
    precompiled: PrecompiledConfigValidators | null = null,
  ) {
    this.root = precompiled?.root ?? this.ajv.compile(ConfigSchema);
    for (const [kind, validate] of Object.entries(precompiled?.kinds ?? {}))
      if (driverKinds.has(kind)) this.kinds.set(kind, validate);
  }

  /** A kind's schema is compiled when a document first uses it (start-up on a slow CPU). */
  private kindValidator(kind: string): ValidateFunction | undefined {
    let validate = this.kinds.get(kind);
    const schema = validate ? undefined : this.driverKinds.get(kind);
    if (schema) {
      validate = this.ajv.compile(schema);
      this.kinds.set(kind, validate);
    }
    return validate;
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
      const validate = this.kindValidator(kind);
      if (!validate) {
        issues.push({
          path: `/drivers/${i}/kind`,
          message: `unknown driver kind '${kind}' (known: ${[...this.driverKinds.keys()].join(', ')})`,
        });
        return;
      }
      if (!validate(d)) issues.push(...toIssues(validate.errors ?? [], `/drivers/${i}`));
    });
    // the cross-checks run on a document with schema errors too (every error in one pass); one
    // that cannot run on a broken part throws and is left out until the schema errors are fixed
    const seen = new Set(issues.map((i) => `${i.path}\0${i.message}`));
    for (const issue of semanticIssuesOf(doc as GatewayConfig)) {
      if (!seen.has(`${issue.path}\0${issue.message}`)) issues.push(issue);
    }
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
  /** a validator already compiled for these kinds (compiling costs ~1 s on a Pi core) */
  validator?: ConfigValidator;
  secrets?: SecretSources;
  /** write the migrated file back (after a backup) */
  persistMigration?: boolean;
  now?: () => Date;
}

/** The file's text, or EDGE_CONFIG_NOT_FOUND saying which file and what to do. */
function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable by this user'
          : code === 'EISDIR'
            ? 'is a directory'
            : `cannot be read (${code ?? (err as Error).message})`;
    throw new EdgeError(
      'EDGE_CONFIG_NOT_FOUND',
      `configuration file ${file} ${why}: pass --config <file> or set EDGE_CONFIG (examples in config/examples/)`,
      { cause: err, details: [{ path: file, message: why }] },
    );
  }
}

/**
 * Load a YAML file: parse, migrate (backup first), resolve secrets, validate. Throws an EdgeError
 * listing every problem with its path; the caller keeps its running config on failure.
 */
export function loadConfigFile(file: string, options: LoadOptions): LoadedConfig {
  const raw = parseYaml(readConfigText(file), file);
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
  const validator = options.validator ?? new ConfigValidator(options.driverKinds);
  const all = [...issues, ...validator.check(doc)];
  if (all.length > 0) throw invalid(all);
  return {
    config: doc as GatewayConfig,
    document: migrated.doc,
    migratedFrom: migrated.applied.length > 0 ? migrated.fromVersion : null,
    backupPath,
  };
}

export { CONFIG_VERSION };
