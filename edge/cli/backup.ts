import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import { isMap, isSeq } from 'yaml';
import { parseCommandArgs } from './args.js';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  databaseFacts,
  sha256File,
  type BackupFile,
  type BackupManifest,
  type DatabaseFacts,
  type FileRole,
} from './backup-manifest.js';
import {
  defaultConfigFile,
  gatewayPaths,
  loadToolConfig,
  readConfigDocument,
} from './config-file.js';
import { CliError, type CliIo } from './io.js';
import { packageVersion } from './package-info.js';

/**
 * `customs-edge backup`: everything needed to bring this gateway back on a new SD card, taken
 * while the line runs. The SQLite files (outbox, line state, command replies) are copied with
 * SQLite's online backup API (better-sqlite3 `db.backup()`) in one step: one read transaction,
 * a consistent snapshot that the gateway's writes (WAL) neither block nor invalidate; each copy
 * then passes `PRAGMA integrity_check`. Plus the configuration folder (gateway.yaml, secrets.env,
 * the MQTT key and certificates), the OPC UA PKI folders and any certificate or key file the
 * configuration names elsewhere. manifest.json lists each file with its sha256.
 *
 * The backup holds private keys and password hashes: it is written 0700/0600; keep it off the
 * device (a backup on the same SD card dies with it) and encrypted. --no-secrets leaves the
 * keys, secrets.env and the password hashes out (they are then re-made at restore: init).
 */

export const BACKUP_USAGE =
  'customs-edge backup [--config FILE] [--out DIR] [--archive] [--no-secrets]';

function stamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

function isInside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** A private key or a secret by its name or content type. */
function isSecretFile(file: string): boolean {
  return (
    /(\.key|private_key\.pem|secrets\.env)$/.test(file) || file.includes(`${sep}private${sep}`)
  );
}

/** Copy one database with the online backup API; the copy is a single file (no WAL). */
export async function backupDatabase(source: string, target: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    // every page in one step: one read snapshot (a multi-step backup restarts whenever the
    // running gateway commits in between, which on a busy line may be forever)
    await db.backup(target, { progress: () => 1_000_000_000 });
  } finally {
    db.close();
  }
  const copy = new Database(target);
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

export async function createBackup(o: {
  configFile: string;
  out: string;
  includeSecrets: boolean;
  env: NodeJS.ProcessEnv;
  now: Date;
  cwd?: string;
  /** called just before each database copy starts (tests note what was committed by then) */
  beforeDatabase?: (role: DatabaseFacts['role']) => void;
}): Promise<{ dir: string; manifest: BackupManifest }> {
  const tool = loadToolConfig(o.configFile, o.env);
  const paths = gatewayPaths(tool.raw, o.configFile, o.cwd);
  const gateway = (tool.raw.gateway ?? {}) as { id?: string; site?: string };
  const name = `customs-edge-backup-${gateway.id ?? 'gateway'}-${stamp(o.now)}`;
  const dir = resolve(o.out, name);
  const partial = `${dir}.partial`;
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  const files: BackupFile[] = [];
  const taken = new Set<string>();

  const place = (
    source: string,
  ): Omit<BackupFile, 'role' | 'sha256' | 'bytes' | 'mode' | 'secret'> => {
    if (isInside(paths.configDir, source) || source === paths.configFile) {
      const target = relative(paths.configDir, source);
      return { path: join('config', target), area: 'config', target };
    }
    if (isInside(paths.dataDir, source)) {
      const target = relative(paths.dataDir, source);
      return { path: join('data', target), area: 'data', target };
    }
    return {
      path: join('external', `${files.length}-${basename(source)}`),
      area: 'external',
      target: source,
    };
  };
  const add = async (source: string, role: FileRole, copy?: (to: string) => Promise<void>) => {
    const real = resolve(source);
    if (taken.has(real) || !existsSync(real)) return;
    const secret = isSecretFile(real) || role === 'secrets';
    if (secret && !o.includeSecrets) return;
    taken.add(real);
    const where = place(real);
    const to = join(partial, where.path);
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    if (copy) await copy(to);
    else copyFileSync(real, to);
    chmodSync(to, 0o600);
    files.push({
      ...where,
      role,
      secret,
      sha256: '',
      bytes: 0,
      mode: statSync(real).mode & 0o777,
    });
  };

  // the configuration; without secrets, its literal password hashes are left out
  await add(
    paths.configFile,
    'config',
    o.includeSecrets
      ? undefined
      : (to) => {
          writeFileSync(to, withoutPasswordHashes(o.configFile));
          return Promise.resolve();
        },
  );
  await add(paths.secretsFile, 'secrets');
  for (const file of listFiles(join(paths.configDir, 'pki'))) await add(file, 'tls');
  for (const t of paths.tlsFiles) await add(t.file, 'tls');
  const dbRoles = new Map<string, DatabaseFacts['role']>();
  for (const db of paths.databases) {
    await add(db.file, 'database', (to) => {
      dbRoles.set(to, db.role);
      o.beforeDatabase?.(db.role);
      return backupDatabase(db.file, to);
    });
  }
  // the OPC UA PKI folders: those configured, and the data folder's pki/ (init makes the
  // application certificate there before any OPC UA driver is configured)
  for (const pki of [...paths.opcuaPkiDirs.map((p) => p.dir), join(paths.dataDir, 'pki')])
    for (const file of listFiles(pki))
      if (!/(^|\/)mutex$|\.lock$/.test(file)) await add(file, 'pki');

  for (const f of files) {
    const at = join(partial, f.path);
    const role = dbRoles.get(at);
    if (role) {
      f.database = databaseFacts(at, role);
      if (f.database.integrity !== 'ok')
        throw new CliError(
          `the copy of ${f.target} fails integrity_check: ${f.database.integrity}`,
          1,
        );
    }
    f.sha256 = await sha256File(at);
    f.bytes = statSync(at).size;
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    formatVersion: BACKUP_FORMAT_VERSION,
    createdAt: o.now.toISOString(),
    gateway: {
      id: gateway.id ?? '',
      site: gateway.site ?? '',
      version: packageVersion(),
      host: hostname(),
    },
    configFile: paths.configFile,
    configDir: paths.configDir,
    dataDir: paths.dataDir,
    includesSecrets: o.includeSecrets,
    files,
  };
  writeFileSync(join(partial, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', {
    mode: 0o600,
  });
  renameSync(partial, dir); // a backup folder without .partial is complete
  return { dir, manifest };
}

/** The configuration file with its literal passwords and hashes left out (--no-secrets). */
function withoutPasswordHashes(configFile: string): string {
  const doc = readConfigDocument(configFile);
  const users = doc.getIn(['http', 'users'], true);
  if (isSeq(users))
    for (const u of users.items) {
      if (!isMap(u)) continue;
      for (const key of ['passwordHash', 'password']) {
        const v = u.get(key);
        if (typeof v === 'string' && !v.includes('${')) u.delete(key);
      }
    }
  doc.commentBefore = ` customs-edge backup --no-secrets: passwords removed (customs-edge user passwd NAME after a restore)\n${doc.commentBefore ?? ''}`;
  return doc.toString();
}

export async function runBackup(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      config: { type: 'string' },
      out: { type: 'string', default: '.' },
      archive: { type: 'boolean', default: false },
      'no-secrets': { type: 'boolean', default: false },
    },
    BACKUP_USAGE,
  );
  const configFile = resolve(values.config ?? defaultConfigFile(io.env));
  const started = performance.now();
  const { dir, manifest } = await createBackup({
    configFile,
    out: values.out,
    includeSecrets: !values['no-secrets'],
    env: io.env,
    now: io.now(),
  });
  let result = dir;
  if (values.archive) {
    result = `${dir}.tar.gz`;
    execFileSync('tar', ['-czf', result, '-C', dirname(dir), basename(dir)]);
    chmodSync(result, 0o600);
    rmSync(dir, { recursive: true, force: true });
  }
  const bytes = manifest.files.reduce((a, f) => a + f.bytes, 0);
  io.out(
    `backup: ${result} (${manifest.files.length} files, ${Math.round(bytes / 1024)} kB, ${Math.round(performance.now() - started)} ms)`,
  );
  for (const f of manifest.files.filter((x) => x.database)) {
    const d = f.database!;
    io.out(
      `  ${d.role.padEnd(12)} integrity ${d.integrity}, schema ${JSON.stringify(d.schema)} ${JSON.stringify(d.facts)}`,
    );
  }
  io.out(
    manifest.includesSecrets
      ? '  holds private keys and password hashes: copy it off this device and keep it encrypted'
      : '  without secrets: keys, secrets.env and password hashes are re-made after a restore (init, user passwd)',
  );
  return 0;
}
