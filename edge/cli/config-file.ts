import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parseDocument, type Document } from 'yaml';
import {
  ConfigValidator,
  resolveSecrets,
  type ConfigIssue,
  type SecretSources,
} from '../../config/loader.js';
import { migrate } from '../../config/migrations.js';
import { withoutSecrets } from '../../config/secrets.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { REPLY_STORE_FILE } from '../commands/reply-store.js';
import { CliError } from './io.js';

/**
 * The gateway's configuration file as the CLI edits and reads it: a YAML document edited in
 * place (comments kept), written atomically after a timestamped backup with the original's
 * mode and owner; secrets resolved from the environment plus the unit's EnvironmentFile
 * (secrets.env next to the configuration); the files the gateway keeps (gatewayPaths).
 */

export const DEFAULT_CONFIG_DIR = '/etc/customs-edge';
export const DEFAULT_DATA_DIR = '/var/lib/customs-edge';
export const SECRETS_FILE = 'secrets.env';

/**
 * The secret helpers live in config/loader.ts and edge/http/redact.ts today (on their way to
 * config/secrets.ts): the CLI reaches them only through this module.
 */
export { withoutSecrets };

/** ${env:NAME} / ${file:PATH} in secret fields resolved from `env` (every problem listed). */
export function resolveWithEnv(
  doc: unknown,
  env: NodeJS.ProcessEnv,
): { doc: unknown; issues: ConfigIssue[] } {
  return resolveSecrets(doc, { env, readFile: (p) => readFileSync(p, 'utf8').trim() });
}

export function defaultConfigFile(env: NodeJS.ProcessEnv): string {
  return resolve(env.EDGE_CONFIG ?? join(DEFAULT_CONFIG_DIR, 'gateway.yaml'));
}

export function readConfigDocument(file: string): Document {
  if (!existsSync(file)) throw new CliError(`configuration ${file} not found (--config FILE)`);
  const doc = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length > 0)
    throw new CliError(`${file} is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
  return doc;
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

/**
 * Write the document: a backup `<file>.<time>.bak` of the previous content, then a temporary
 * file renamed over it (a crash leaves the old or the new file, never half of one), keeping the
 * previous file's mode and owner. Returns the backup path (null for a new file).
 */
export function writeConfigText(
  file: string,
  text: string,
  now: Date,
  o: { backup?: boolean } = {},
): string | null {
  let backup: string | null = null;
  let mode = 0o640;
  let owner: { uid: number; gid: number } | null = null;
  if (existsSync(file)) {
    const st = statSync(file);
    mode = st.mode & 0o777;
    owner = { uid: st.uid, gid: st.gid };
    if (o.backup !== false) {
      backup = `${file}.${stamp(now)}.bak`;
      copyFileSync(file, backup);
      chmodSync(backup, mode & 0o770);
    }
  }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  if (owner && process.getuid?.() === 0) chownSync(tmp, owner.uid, owner.gid);
  renameSync(tmp, file);
  return backup;
}

/** The environment the gateway's unit sees: this process's plus secrets.env (EnvironmentFile). */
export function unitEnvironment(
  env: NodeJS.ProcessEnv,
  envFile: string | null,
): { env: NodeJS.ProcessEnv; envFile: string | null } {
  if (!envFile || !existsSync(envFile)) return { env, envFile: null };
  const parsed = parseEnv(readFileSync(envFile, 'utf8')) as NodeJS.ProcessEnv;
  return { env: { ...parsed, ...env }, envFile };
}

export interface ToolConfig {
  file: string;
  /** migrated, secrets resolved where possible, defaults filled when the document is valid */
  doc: Record<string, unknown>;
  /** the document with secret references as written (for showing and copying) */
  raw: Record<string, unknown>;
  issues: ConfigIssue[];
  envFile: string | null;
}

/**
 * The configuration as the tools need it: every problem listed (not thrown), so `check` can
 * report them and `backup` can still find the files from a document with an unset secret.
 */
export function loadToolConfig(
  file: string,
  env: NodeJS.ProcessEnv,
  envFile: string | null = join(dirname(file), SECRETS_FILE),
): ToolConfig {
  const text = readConfigDocument(file).toJS() as unknown;
  if (typeof text !== 'object' || text === null || Array.isArray(text))
    throw new CliError(`${file}: must be a YAML mapping`);
  const raw = text as Record<string, unknown>;
  let migrated: Record<string, unknown>;
  try {
    migrated = migrate(structuredClone(raw)).doc;
  } catch (err) {
    return {
      file,
      doc: raw,
      raw,
      issues: [{ path: '/version', message: (err as Error).message }],
      envFile: null,
    };
  }
  const unit = unitEnvironment(env, envFile);
  const sources: SecretSources = {
    env: unit.env,
    readFile: (p) => readFileSync(p, 'utf8').trim(),
  };
  const { doc, issues } = resolveSecrets(migrated, sources);
  const all = [...issues, ...new ConfigValidator(driverKindSchemas()).check(doc)];
  return {
    file,
    doc: doc as Record<string, unknown>,
    raw: migrated,
    issues: all,
    envFile: unit.envFile,
  };
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.length > 0 ? v : fallback;
}

export interface GatewayPaths {
  configFile: string;
  configDir: string;
  secretsFile: string;
  dataDir: string;
  /** the SQLite files the gateway owns, by role */
  databases: { role: 'outbox' | 'line-state' | 'reply-store'; file: string }[];
  /** OPC UA PKI folders (application certificate, trusted/ and rejected/ server certificates) */
  opcuaPkiDirs: { driverId: string; dir: string; applicationName: string }[];
  /** certificate and key files the configuration names (MQTT TLS, OPC UA user certificates) */
  tlsFiles: { pointer: string; file: string }[];
}

/**
 * Where the gateway keeps its files, from a configuration (raw or resolved). A relative dataDir
 * is resolved against `cwd`: the service's WorkingDirectory (/var/lib/customs-edge in the unit).
 */
export function gatewayPaths(
  doc: Record<string, unknown>,
  configFile: string,
  cwd: string = process.cwd(),
): GatewayPaths {
  const configDir = dirname(resolve(configFile));
  const dataDir = resolve(cwd, str(doc.dataDir, './data'));
  const inData = (p: string) => (isAbsolute(p) ? p : resolve(dataDir, p));
  const outbox = rec(doc.outbox);
  const line = rec(doc.line);
  const drivers = Array.isArray(doc.drivers) ? doc.drivers.map(rec) : [];
  const tlsFiles: GatewayPaths['tlsFiles'] = [];
  const tls = rec(rec(doc.uplink).tls);
  for (const key of ['ca', 'cert', 'key'] as const) {
    if (typeof tls[key] === 'string' && !String(tls[key]).includes('${'))
      tlsFiles.push({ pointer: `/uplink/tls/${key}`, file: resolve(cwd, String(tls[key])) });
  }
  const opcuaPkiDirs: GatewayPaths['opcuaPkiDirs'] = [];
  drivers.forEach((d, i) => {
    if (d.kind !== 'opcua') return;
    opcuaPkiDirs.push({
      driverId: str(d.id, `opcua-${i}`),
      dir: inData(str(d.pkiDir, 'pki/opcua')),
      applicationName: str(d.applicationName, 'customs-edge-gateway'),
    });
    const servers = Array.isArray(d.servers) ? d.servers.map(rec) : [];
    servers.forEach((s, j) => {
      const u = rec(s.userIdentity);
      for (const key of ['certificateFile', 'privateKeyFile'] as const) {
        if (typeof u[key] === 'string')
          tlsFiles.push({
            pointer: `/drivers/${i}/servers/${j}/userIdentity/${key}`,
            file: resolve(cwd, String(u[key])),
          });
      }
    });
  });
  return {
    configFile: resolve(configFile),
    configDir,
    secretsFile: join(configDir, SECRETS_FILE),
    dataDir,
    databases: [
      { role: 'outbox', file: inData(str(outbox.file, 'outbox.sqlite')) },
      { role: 'line-state', file: inData(str(line.stateFile, 'line-state.sqlite')) },
      { role: 'reply-store', file: inData(REPLY_STORE_FILE) },
    ],
    opcuaPkiDirs,
    tlsFiles,
  };
}
