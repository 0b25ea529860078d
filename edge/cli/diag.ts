import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { arch, freemem, hostname, loadavg, totalmem, uptime } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { parseCommandArgs } from './args.js';
import { collectChecks, formatResult } from './check.js';
import { defaultConfigFile, gatewayPaths, loadToolConfig, withoutSecrets } from './config-file.js';
import { CliError, type CliIo } from './io.js';
import { lookupAccount, SERVICE_USER } from './owner.js';
import { packageVersion } from './package-info.js';

/**
 * `customs-edge diag`: a support bundle (.tar.gz) a technician can send without thinking about
 * what is in it: health (public, or the details with a technician's credentials), the last log
 * lines from journald, the configuration with every secret replaced, `check --offline`, the
 * host (versions, memory, disk, clock) and a listing (names, sizes, modes; no contents) of the
 * configuration and data folders. No database, key, certificate or secrets.env goes in.
 */

export const DIAG_USAGE =
  'customs-edge diag [--config FILE] [--out DIR] [--log-lines N] [--health-url URL] [--user NAME --password-stdin] [--log-file FILE]';

function stamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    return `(${command} ${args.join(' ')}: ${e.code === 'ENOENT' ? 'not installed' : (e.stderr ?? e.message).trim()})\n`;
  }
}

function listing(dir: string, depth = 0): string[] {
  if (!existsSync(dir) || depth > 6) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    try {
      const st = statSync(path);
      out.push(
        `${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${String(st.uid).padStart(5)}:${String(st.gid).padEnd(5)} ${String(st.size).padStart(12)} ${st.mtime.toISOString()} ${path}${entry.isDirectory() ? '/' : ''}`,
      );
      if (entry.isDirectory()) out.push(...listing(path, depth + 1));
    } catch (err) {
      out.push(`? ${path}: ${(err as Error).message}`);
    }
  }
  return out;
}

async function health(url: string, auth: string | null, timeoutMs: number): Promise<string> {
  try {
    const res = await fetch(url, {
      headers: auth ? { authorization: auth } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.text();
    try {
      return JSON.stringify({ status: res.status, body: JSON.parse(body) as unknown }, null, 2);
    } catch {
      return JSON.stringify({ status: res.status, body }, null, 2);
    }
  } catch (err) {
    return JSON.stringify({ url, error: (err as Error).message }, null, 2);
  }
}

export async function runDiag(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      config: { type: 'string' },
      out: { type: 'string', default: '.' },
      'log-lines': { type: 'string', default: '2000' },
      'log-file': { type: 'string' },
      'health-url': { type: 'string' },
      user: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
    },
    DIAG_USAGE,
  );
  const configFile = resolve(values.config ?? defaultConfigFile(io.env));
  const tool = loadToolConfig(configFile, io.env);
  const paths = gatewayPaths(tool.doc, configFile);
  const now = io.now();
  const http = (tool.doc.http ?? {}) as { host?: string; port?: number };
  const host =
    !http.host || http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  const base =
    values['health-url'] ??
    `http://${host.includes(':') ? `[${host}]` : host}:${http.port ?? 8080}/api/health`;
  let auth: string | null = null;
  if (values.user) {
    if (!values['password-stdin'])
      throw new CliError('--user needs --password-stdin (the password is never an argument)');
    const password = (await io.readStdin()).replace(/\r?\n$/, '');
    auth = `Basic ${Buffer.from(`${values.user}:${password}`).toString('base64')}`;
  }
  const gatewayId = String((tool.raw.gateway as { id?: string } | undefined)?.id ?? 'gateway');
  const dir = resolve(values.out, `customs-edge-diag-${gatewayId}-${stamp(now)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, text: string) =>
    writeFileSync(join(dir, name), text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });

  write(
    'summary.txt',
    [
      `customs-edge ${packageVersion()} diag ${now.toISOString()}`,
      `host ${hostname()}, ${arch()}, Node ${process.versions.node}, uptime ${Math.round(uptime() / 3600)} h, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      `memory ${Math.round(freemem() / 1048576)} MB free of ${Math.round(totalmem() / 1048576)} MB`,
      `configuration ${configFile}, data ${paths.dataDir}`,
      existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '',
      run('uname', ['-a']),
      run('df', ['-h', paths.dataDir, paths.configDir]),
      run('timedatectl', ['status']),
      run('systemctl', ['status', '--no-pager', '-l', 'customs-edge']),
    ].join('\n'),
  );
  write('health.json', await health(base, null, 5000));
  if (auth) write('health-details.json', await health(`${base}/details`, auth, 5000));
  write('config.yaml', stringify(withoutSecrets(tool.raw)));
  if (tool.issues.length > 0)
    write('config-issues.txt', tool.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  const checks = await collectChecks({
    tool,
    paths,
    account: lookupAccount(SERVICE_USER),
    sysRoot: '/',
    now,
    timeoutMs: 3000,
    offline: true,
    deep: false,
  });
  write('check.txt', checks.map(formatResult).join('\n'));
  const lines = String(Number(values['log-lines']) || 2000);
  write(
    'logs.txt',
    values['log-file']
      ? readFileSync(values['log-file'], 'utf8').split('\n').slice(-Number(lines)).join('\n')
      : run('journalctl', [
          '-u',
          'customs-edge',
          '-n',
          lines,
          '--no-pager',
          '-o',
          'short-iso-precise',
        ]),
  );
  write('files.txt', [...listing(paths.configDir), ...listing(paths.dataDir)].join('\n'));

  const archive = `${dir}.tar.gz`;
  execFileSync('tar', ['-czf', archive, '-C', dirname(dir), basename(dir)]);
  chmodSync(archive, 0o600);
  rmSync(dir, { recursive: true, force: true });
  io.out(`diag: ${archive}`);
  io.out(
    '  health, logs, configuration without secrets, checks, host and file listing; no keys or data',
  );
  return 0;
}
