import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { STORE_SCHEMA_VERSIONS, tooNew } from '../schema-version.js';
import { parseCommandArgs } from './args.js';
import {
  databaseFacts,
  readManifest,
  sha256File,
  type BackupFile,
  type BackupManifest,
} from './backup-manifest.js';
import { readConfigDocument, writeConfigText } from './config-file.js';
import { CliError, type CliIo } from './io.js';
import { chownTree, serviceAccount } from './owner.js';

/**
 * `customs-edge restore BACKUP`: a backup (folder or .tar.gz from `backup`) back onto this
 * machine, into the folders it came from or new ones (--config-dir, --data-dir; the restored
 * configuration then points at them). Everything is checked before anything is written: every
 * file's sha256 against the manifest, every database's integrity_check and schema version (a
 * backup from a newer gateway is refused, as the gateway itself would). Existing files are
 * refused unless --force, which moves them aside (*.pre-restore-<time>, with an old database's
 * -wal and -shm: they would otherwise be replayed into the restored file).
 *
 * The restored outbox continues its sequence numbers far above the backup's (wall ms x 1000,
 * like the recovery of an unusable outbox): the gateway that died may have published events
 * numbered after the backup was taken, and new events must not reuse those numbers. Events
 * still pending in the backup are sent again (the platform dedupes by event id).
 */

export const RESTORE_USAGE =
  'customs-edge restore BACKUP [--config-dir DIR] [--data-dir DIR] [--force] [--keep-seq] [--owner USER]';

function stamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

/** A backup folder, or an archive unpacked into a temporary one. */
function openBackup(source: string): { dir: string; cleanup: () => void } {
  if (!existsSync(source)) throw new CliError(`${source}: no such backup`);
  if (statSync(source).isDirectory()) return { dir: source, cleanup: () => undefined };
  if (!/\.(tar\.gz|tgz)$/.test(source))
    throw new CliError(`${source}: a backup folder or its .tar.gz`);
  const tmp = mkdtempSync(join(tmpdir(), 'customs-edge-restore-'));
  execFileSync('tar', ['-xzf', source, '-C', tmp]);
  const [inner] = readdirSync(tmp);
  if (!inner) throw new CliError(`${source}: empty archive`);
  return { dir: join(tmp, inner), cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}

/** Every problem of the backup's files; empty when all can be restored. */
export async function verifyBackup(dir: string, manifest: BackupManifest): Promise<string[]> {
  const problems: string[] = [];
  for (const f of manifest.files) {
    const at = join(dir, f.path);
    if (!existsSync(at)) {
      problems.push(`${f.path}: missing`);
      continue;
    }
    const sha = await sha256File(at);
    if (sha !== f.sha256) {
      problems.push(`${f.path}: sha256 ${sha} differs from the manifest's ${f.sha256}`);
      continue;
    }
    if (f.database) {
      const facts = databaseFacts(at, f.database.role);
      if (facts.integrity !== 'ok') problems.push(`${f.path}: integrity_check ${facts.integrity}`);
      for (const [component, version] of Object.entries(facts.schema)) {
        const supported = (STORE_SCHEMA_VERSIONS as Record<string, number | undefined>)[component];
        if (supported !== undefined && version > supported)
          problems.push(tooNew(f.path, component, version, supported).message);
      }
    }
  }
  return problems;
}

interface Placement {
  file: BackupFile;
  to: string;
}

function placements(manifest: BackupManifest, configDir: string, dataDir: string): Placement[] {
  const relocated = configDir !== manifest.configDir || dataDir !== manifest.dataDir;
  return manifest.files.map((file) => ({
    file,
    to:
      file.area === 'config'
        ? join(configDir, file.target)
        : file.area === 'data'
          ? join(dataDir, file.target)
          : relocated
            ? join(configDir, 'restored', basename(file.target))
            : file.target,
  }));
}

/** Point the restored configuration at where its files now are. */
function rewriteConfig(
  configFile: string,
  manifest: BackupManifest,
  dataDir: string,
  moved: Map<string, string>,
  now: Date,
): void {
  const doc = readConfigDocument(configFile);
  if (dataDir !== manifest.dataDir) doc.set('dataDir', dataDir);
  const rewrite = (path: (string | number)[]) => {
    const value = doc.getIn(path);
    if (typeof value !== 'string') return;
    const to = moved.get(resolve(manifest.dataDir, value)) ?? moved.get(value);
    if (to && to !== value) doc.setIn(path, to);
  };
  for (const key of ['ca', 'cert', 'key']) rewrite(['uplink', 'tls', key]);
  const drivers = doc.getIn(['drivers']);
  if (Array.isArray((drivers as { items?: unknown[] } | undefined)?.items)) {
    const count = (drivers as { items: unknown[] }).items.length;
    for (let i = 0; i < count; i++) {
      const servers = doc.getIn(['drivers', i, 'servers']) as { items?: unknown[] } | undefined;
      for (let j = 0; j < (servers?.items?.length ?? 0); j++)
        for (const key of ['certificateFile', 'privateKeyFile'])
          rewrite(['drivers', i, 'servers', j, 'userIdentity', key]);
      const pkiDir = doc.getIn(['drivers', i, 'pkiDir']);
      if (typeof pkiDir === 'string' && pkiDir.startsWith(manifest.dataDir))
        doc.setIn(['drivers', i, 'pkiDir'], join(dataDir, pkiDir.slice(manifest.dataDir.length)));
    }
  }
  writeConfigText(configFile, doc.toString(), now, { backup: false });
}

/** New events get sequence numbers above anything the lost gateway may have published. */
function continueSequences(outbox: string, now: Date): number {
  const db = new Database(outbox);
  try {
    const base = Math.floor(now.getTime()) * 1000;
    const set = db.prepare(
      'INSERT INTO outbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)',
    );
    db.transaction(() => {
      set.run('seq.events', base);
      set.run('seq.telemetry', base);
    })();
    return base;
  } finally {
    db.close();
  }
}

export async function runRestore(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      'config-dir': { type: 'string' },
      'data-dir': { type: 'string' },
      force: { type: 'boolean', default: false },
      'keep-seq': { type: 'boolean', default: false },
      owner: { type: 'string' },
    },
    RESTORE_USAGE,
  );
  if (!positionals[0]) throw new CliError(`usage: ${RESTORE_USAGE}`);
  const { dir, cleanup } = openBackup(positionals[0]);
  try {
    let manifest: BackupManifest;
    try {
      manifest = readManifest(join(dir, 'manifest.json'));
    } catch (err) {
      throw new CliError(`${dir}: ${(err as Error).message}`);
    }
    const problems = await verifyBackup(dir, manifest);
    if (problems.length > 0)
      throw new CliError(
        `backup refused, nothing written:\n${problems.map((p) => `  ${p}`).join('\n')}`,
        1,
      );
    const configDir = resolve(values['config-dir'] ?? manifest.configDir);
    const dataDir = resolve(values['data-dir'] ?? manifest.dataDir);
    const plan = placements(manifest, configDir, dataDir);
    const existing = plan.filter((p) => existsSync(p.to));
    if (existing.length > 0 && !values.force)
      throw new CliError(
        `${existing.length} file(s) exist (${existing
          .slice(0, 3)
          .map((p) => p.to)
          .join(
            ', ',
          )}${existing.length > 3 ? ', ...' : ''}): stop the gateway (systemctl stop customs-edge) and pass --force to move them aside`,
        1,
      );
    const owner = serviceAccount(values.owner);
    const now = io.now();
    const moved = new Map<string, string>();
    for (const { file, to } of plan) {
      mkdirSync(dirname(to), { recursive: true, mode: 0o750 });
      const suffixes = file.role === 'database' ? ['', '-wal', '-shm', '-journal'] : [''];
      for (const s of suffixes)
        if (existsSync(to + s)) renameSync(to + s, `${to}${s}.pre-restore-${stamp(now)}`);
      const tmp = `${to}.restoring`;
      copyFileSync(join(dir, file.path), tmp);
      chmodSync(tmp, file.mode || 0o600);
      renameSync(tmp, to);
      moved.set(
        file.area === 'external'
          ? file.target
          : join(file.area === 'config' ? manifest.configDir : manifest.dataDir, file.target),
        to,
      );
    }
    const configFile = plan.find((p) => p.file.role === 'config')?.to;
    if (configFile) rewriteConfig(configFile, manifest, dataDir, moved, now);
    io.out(
      `restored ${plan.length} files of ${manifest.gateway.id} (${manifest.createdAt}, version ${manifest.gateway.version})`,
    );
    io.out(`  configuration ${configFile ?? '(none in the backup)'}, data ${dataDir}`);
    for (const { file, to } of plan.filter((p) => p.file.database)) {
      const facts = databaseFacts(to, file.database!.role);
      let note = '';
      if (file.database!.role === 'outbox' && !values['keep-seq'])
        note = `; new events numbered from ${continueSequences(to, now) + 1}`;
      io.out(
        `  ${facts.role.padEnd(12)} integrity ${facts.integrity} ${JSON.stringify(facts.facts)}${note}`,
      );
    }
    if (owner) {
      chownTree(dataDir, owner);
      chownTree(configDir, owner, { keepRootOwned: [join(configDir, 'secrets.env')] });
    }
    if (!manifest.includesSecrets)
      io.out(
        '  the backup held no secrets: set passwords (customs-edge user passwd) and re-enrol the keys (customs-edge init --force)',
      );
    io.out('next: customs-edge check, then systemctl start customs-edge');
    return 0;
  } finally {
    cleanup();
  }
}
