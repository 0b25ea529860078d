import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { schemaVersions, STORE_SCHEMA_VERSIONS } from '../schema-version.js';
import { parseCommandArgs } from './args.js';
import { hostChecks, nodeChecks } from './check-host.js';
import { networkChecks } from './check-network.js';
import { defaultConfigFile, gatewayPaths, loadToolConfig } from './config-file.js';
import type { CliIo } from './io.js';
import { result, type CheckContext, type CheckResult, type CheckStatus } from './check-types.js';
import { lookupAccount, SERVICE_USER } from './owner.js';

/**
 * `customs-edge check`: is this gateway ready to run the line? One line per check with what
 * was found and, when it is not right, the fix. Exit 1 when any check fails (warnings do not
 * fail). Nothing is changed; the broker is only reached over TCP/TLS (an MQTT connection with
 * the gateway's client id would throw the running gateway off the broker).
 */

export const CHECK_USAGE =
  'customs-edge check [--config FILE] [--env-file FILE] [--service-user NAME] [--offline] [--deep] [--timeout-ms N] [--json]';

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

export function configChecks(c: CheckContext): CheckResult[] {
  const { tool } = c;
  const out: CheckResult[] = [];
  if (tool.issues.length > 0) {
    const listed = tool.issues
      .slice(0, 5)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    out.push(
      result(
        'config',
        'fail',
        `${tool.file}: ${tool.issues.length} problem(s): ${listed}${tool.issues.length > 5 ? '; ...' : ''}`,
        `edit ${tool.file}${tool.envFile ? '' : ` (secrets: ${c.paths.secretsFile})`}`,
      ),
    );
  } else {
    const drivers = Array.isArray(tool.doc.drivers) ? tool.doc.drivers.length : 0;
    const gates = rec(tool.doc.gates);
    out.push(
      result(
        'config',
        'ok',
        `${tool.file} valid: gateway ${String(rec(tool.doc.gateway).id)}, ${drivers} driver(s), gates ${String(gates.binding)}`,
      ),
    );
  }
  const users = Array.isArray(rec(tool.raw.http).users)
    ? (rec(tool.raw.http).users as unknown[]).map(rec)
    : [];
  const admins = users.filter((u) => u.role === 'admin' && (u.passwordHash || u.password));
  const plain = users.filter(
    (u) => typeof u.password === 'string' && !String(u.password).includes('${'),
  );
  const defaults = users.filter(
    (u) => typeof u.password === 'string' && /\$\{env:[^}:]+:-[^}]+\}/.test(u.password),
  );
  if (admins.length === 0)
    out.push(
      result(
        'users',
        'warn',
        'no admin user: nobody can change the configuration or the targeting list over HTTP',
        'customs-edge user add admin --role admin',
      ),
    );
  else if (plain.length > 0 || defaults.length > 0)
    out.push(
      result(
        'users',
        'warn',
        `${[...plain, ...defaults].map((u) => String(u.name)).join(', ')}: password in the file${defaults.length ? ' or a default in ${env:NAME:-default}' : ''}`,
        `customs-edge user passwd ${String((plain[0] ?? defaults[0])?.name)}`,
      ),
    );
  else
    out.push(
      result(
        'users',
        'ok',
        `${users.length} user(s), ${admins.length} admin(s), passwords as scrypt hashes or secrets`,
      ),
    );
  if (existsSync(c.paths.secretsFile)) {
    const st = statSync(c.paths.secretsFile);
    out.push(
      (st.mode & 0o077) !== 0
        ? result(
            'secrets-file',
            'warn',
            `${c.paths.secretsFile} is readable by others (mode ${(st.mode & 0o777).toString(8)})`,
            `chmod 600 ${c.paths.secretsFile}`,
          )
        : result('secrets-file', 'ok', `${c.paths.secretsFile} mode 600`),
    );
  }
  return out;
}

export function dataChecks(c: CheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  const { dataDir } = c.paths;
  if (!existsSync(dataDir)) {
    out.push(
      result(
        'data-dir',
        'fail',
        `${dataDir} does not exist`,
        `install -d -o ${c.account?.name ?? SERVICE_USER} -m 750 ${dataDir}`,
      ),
    );
    return out;
  }
  const st = statSync(dataDir);
  if (c.account && st.uid !== c.account.uid && (st.mode & 0o002) === 0)
    out.push(
      result(
        'data-dir',
        'fail',
        `${dataDir} is owned by uid ${st.uid}, the service runs as ${c.account.name}`,
        `chown -R ${c.account.name}: ${dataDir}`,
      ),
    );
  else {
    try {
      accessSync(dataDir, constants.W_OK);
      out.push(result('data-dir', 'ok', `${dataDir} writable`));
    } catch {
      out.push(
        result(
          'data-dir',
          'fail',
          `${dataDir} not writable`,
          `chown -R ${SERVICE_USER}: ${dataDir}`,
        ),
      );
    }
  }
  const fs = statfsSync(dataDir);
  const free = fs.bavail * fs.bsize;
  const total = fs.blocks * fs.bsize;
  const quota = Number(rec(c.tool.doc.outbox).maxBytes ?? 512 * 1024 * 1024);
  const outboxFile = c.paths.databases.find((d) => d.role === 'outbox')?.file ?? '';
  const used = existsSync(outboxFile) ? statSync(outboxFile).size : 0;
  const needed = Math.max(0, quota - used) + 256 * 1024 * 1024;
  const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;
  const line = `${mb(free)} free of ${mb(total)} on ${dataDir}; outbox ${mb(used)} of its ${mb(quota)} quota`;
  out.push(
    free < 100 * 1024 * 1024
      ? result('disk', 'fail', line, 'free space, or lower outbox.maxBytes')
      : free < needed
        ? result(
            'disk',
            'warn',
            `${line}: the quota cannot be reached`,
            `free ${mb(needed - free)} or lower outbox.maxBytes`,
          )
        : result('disk', 'ok', line),
  );
  return out;
}

export function databaseChecks(c: CheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  for (const { role, file } of c.paths.databases) {
    if (!existsSync(file)) {
      out.push(result(`db-${role}`, 'ok', `${file} not created yet (first start makes it)`));
      continue;
    }
    let db: Database.Database | null = null;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      const versions = schemaVersions(db);
      const newer = [...versions].filter(
        ([component, v]) =>
          v > (STORE_SCHEMA_VERSIONS as Record<string, number | undefined>)[component]!,
      );
      if (newer.length > 0) {
        out.push(
          result(
            `db-${role}`,
            'fail',
            `${file} was written by a newer gateway (${newer.map(([k, v]) => `${k} v${v}`).join(', ')}); this one refuses it`,
            'install the newer version again, or restore a backup made with this version (docs/install.md)',
          ),
        );
        continue;
      }
      const integrity = c.deep
        ? String(db.pragma('integrity_check', { simple: true }))
        : String(db.pragma('quick_check', { simple: true }));
      const kind = c.deep ? 'integrity_check' : 'quick_check';
      out.push(
        integrity === 'ok'
          ? result(
              `db-${role}`,
              'ok',
              `${file}: ${kind} ok, schema ${[...versions].map(([k, v]) => `${k} v${v}`).join(', ') || 'v0 (before versions)'}`,
            )
          : result(
              `db-${role}`,
              'fail',
              `${file}: ${kind} ${integrity}`,
              'stop the gateway and restore the last backup (customs-edge restore); the gateway moves an unusable outbox aside on its own',
            ),
      );
    } catch (err) {
      out.push(
        result(
          `db-${role}`,
          'fail',
          `${file}: ${(err as Error).message}`,
          `check its owner (${SERVICE_USER}) and that the disk is healthy`,
        ),
      );
    } finally {
      db?.close();
    }
  }
  return out;
}

function statusWord(s: CheckStatus): string {
  return { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' }[s];
}

export function formatResult(r: CheckResult): string {
  return `${statusWord(r.status)}  ${r.id.padEnd(14)} ${r.message}${r.fix ? `\n      fix: ${r.fix}` : ''}`;
}

export async function collectChecks(c: CheckContext): Promise<CheckResult[]> {
  const results = [...configChecks(c), ...dataChecks(c), ...databaseChecks(c), ...hostChecks(c)];
  results.push(...(await nodeChecks(c)));
  results.push(...(await networkChecks(c)));
  return results;
}

export async function runCheck(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      config: { type: 'string' },
      'env-file': { type: 'string' },
      'service-user': { type: 'string', default: SERVICE_USER },
      'sys-root': { type: 'string', default: '/' },
      offline: { type: 'boolean', default: false },
      deep: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '5000' },
      json: { type: 'boolean', default: false },
    },
    CHECK_USAGE,
  );
  const file = values.config ?? defaultConfigFile(io.env);
  const tool = loadToolConfig(file, io.env, values['env-file'] ?? undefined);
  const context: CheckContext = {
    tool,
    paths: gatewayPaths(tool.doc, file),
    account: lookupAccount(values['service-user']),
    sysRoot: values['sys-root'],
    now: io.now(),
    timeoutMs: Number(values['timeout-ms']) || 5000,
    offline: values.offline,
    deep: values.deep,
  };
  const results = await collectChecks(context);
  if (values.json) io.out(JSON.stringify(results, null, 2));
  else for (const r of results) io.out(formatResult(r));
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  if (!values.json)
    io.out(
      `${failed === 0 ? 'ready' : 'NOT ready'}: ${results.length} checks, ${failed} failed, ${warned} warning(s) (${dirname(file)})`,
    );
  return failed === 0 ? 0 : 1;
}
