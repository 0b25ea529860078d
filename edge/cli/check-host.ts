import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findHeaderChip } from '../../drivers/gpio/sysfs-chip.js';
import { result, type CheckContext, type CheckResult } from './check-types.js';
import { SERVICE_USER } from './owner.js';
import { packageRoot } from './package-info.js';

/**
 * Host checks: GPIO (sysfs, header chip, group access), serial ports (present, stable names,
 * group access), clock sync and RTC, Node and the native addons, journald's size cap and the
 * unit. Paths are under `sysRoot` so tests can point them at a fake tree.
 */

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function text(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

function groupName(gid: number, sysRoot: string): string {
  try {
    const line = readFileSync(join(sysRoot, 'etc/group'), 'utf8')
      .split('\n')
      .find((l) => Number(l.split(':')[2]) === gid);
    return line?.split(':')[0] ?? String(gid);
  } catch {
    return String(gid);
  }
}

function gpioChecks(c: CheckContext): CheckResult[] {
  const gates = rec(c.tool.doc.gates);
  if (gates.binding !== 'onoff')
    return [result('gpio', 'skip', `gates.binding is ${String(gates.binding)}: no GPIO used`)];
  const root = join(c.sysRoot, 'sys/class/gpio');
  const out: CheckResult[] = [];
  try {
    const chip = findHeaderChip(
      root,
      typeof gates.chipLabel === 'string' ? gates.chipLabel : undefined,
    );
    out.push(
      result('gpio-chip', 'ok', `${chip.chip} ${chip.label}: BCM pin N is sysfs ${chip.base} + N`),
    );
  } catch (err) {
    out.push(
      result(
        'gpio-chip',
        'fail',
        (err as Error).message,
        'on a Raspberry Pi with Raspberry Pi OS the header chip is there; elsewhere use gates.binding: simulated',
      ),
    );
    return out;
  }
  const exportFile = join(root, 'export');
  try {
    const st = statSync(exportFile);
    const group = groupName(st.gid, c.sysRoot);
    const account = c.account;
    if (!account)
      out.push(
        result(
          'gpio-access',
          'warn',
          `service user ${SERVICE_USER} does not exist; ${exportFile} is group ${group}`,
          `useradd --system --groups ${group},dialout ${SERVICE_USER}`,
        ),
      );
    else if (account.uid === 0 || account.groups.includes(group))
      out.push(result('gpio-access', 'ok', `${account.name} may use ${root} (group ${group})`));
    else
      out.push(
        result(
          'gpio-access',
          'fail',
          `${account.name} is not in group ${group}, which owns ${exportFile}`,
          `usermod -aG ${group} ${account.name}`,
        ),
      );
  } catch (err) {
    out.push(result('gpio-access', 'fail', `${exportFile}: ${(err as Error).message}`));
  }
  return out;
}

/** Serial device paths the configuration names (serial-sim pty links excluded). */
function serialPorts(doc: Record<string, unknown>): { driver: string; path: string }[] {
  const drivers = Array.isArray(doc.drivers) ? doc.drivers.map(rec) : [];
  return drivers
    .filter(
      (d) => typeof d.kind === 'string' && d.kind.startsWith('serial-') && d.kind !== 'serial-sim',
    )
    .filter((d) => d.enabled !== false)
    .map((d) => ({ driver: String(d.id), path: text(rec(d.port).path) }));
}

const UNSTABLE = /^\/dev\/tty(USB|ACM)\d+$/;

function serialChecks(c: CheckContext): CheckResult[] {
  const ports = serialPorts(c.tool.doc);
  if (ports.length === 0) return [result('serial', 'skip', 'no serial device configured')];
  const out: CheckResult[] = [];
  for (const { driver, path } of ports) {
    const id = `serial ${driver}`;
    const full = path.startsWith('/') ? join(c.sysRoot, path) : path;
    if (!existsSync(full)) {
      out.push(
        result(
          id,
          'fail',
          `${path} not found (unplugged, or another name)`,
          `plug it in; ls -l /dev/serial/by-id/ /dev/customs-edge/ for its stable name`,
        ),
      );
      continue;
    }
    const st = statSync(full);
    const group = groupName(st.gid, c.sysRoot);
    const stable = !UNSTABLE.test(path);
    const access =
      !c.account ||
      c.account.uid === 0 ||
      c.account.groups.includes(group) ||
      (st.mode & 0o006) === 0o006;
    let target = path;
    try {
      target = realpathSync(full);
    } catch {
      /* keep the configured path */
    }
    if (!access)
      out.push(
        result(
          id,
          'fail',
          `${path} (${target}) is group ${group}; ${c.account?.name ?? SERVICE_USER} is not in it`,
          `usermod -aG ${group} ${c.account?.name ?? SERVICE_USER}`,
        ),
      );
    else if (!stable)
      out.push(
        result(
          id,
          'warn',
          `${path} can change name when a USB adapter is replugged or another one appears`,
          'use its /dev/serial/by-id/... name, or a /dev/customs-edge/<role> name from provisioning/99-customs-edge-serial.rules',
        ),
      );
    else out.push(result(id, 'ok', `${path} -> ${target}, group ${group}`));
  }
  return out;
}

function run(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
  } catch {
    return null;
  }
}

function clockChecks(c: CheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  if (c.now.getUTCFullYear() < 2025)
    out.push(
      result(
        'clock',
        'fail',
        `the clock says ${c.now.toISOString()}: not set`,
        'connect the network (NTP) or set it: timedatectl set-time; an RTC keeps it across power cuts',
      ),
    );
  else {
    const synced =
      c.sysRoot === '/' ? run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']) : null;
    const flag = existsSync(join(c.sysRoot, 'run/systemd/timesync/synchronized'));
    if (synced === 'yes' || flag)
      out.push(result('clock', 'ok', `${c.now.toISOString()}, synchronised (NTP)`));
    else
      out.push(
        result(
          'clock',
          'warn',
          `${c.now.toISOString()}, not known to be synchronised${synced === null ? ' (timedatectl unavailable)' : ''}`,
          "timedatectl set-ntp true, and let the gateway reach an NTP server (or the platform's); event times are wall-clock",
        ),
      );
  }
  const rtc = join(c.sysRoot, 'sys/class/rtc/rtc0');
  if (existsSync(rtc)) {
    let name = 'rtc0';
    try {
      name = readFileSync(join(rtc, 'name'), 'utf8').trim();
    } catch {
      /* unnamed */
    }
    out.push(result('rtc', 'ok', `real-time clock ${name}`));
  } else
    out.push(
      result(
        'rtc',
        'warn',
        'no real-time clock: after a power cut the clock resumes from the last saved time (fake-hwclock) until NTP answers; events in that window carry wrong times',
        'Raspberry Pi 5: fit the RTC battery; Pi 4: an RTC HAT (e.g. DS3231, dtoverlay=i2c-rtc,ds3231)',
      ),
    );
  return out;
}

async function nodeChecks(c: CheckContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  out.push(
    major > 20 || (major === 20 && minor >= 12)
      ? result('node', 'ok', `Node ${process.versions.node} (${process.arch})`)
      : result(
          'node',
          'fail',
          `Node ${process.versions.node}: needs >= 20.12`,
          'apt-get install nodejs (Bookworm/Trixie: 20.x or later)',
        ),
  );
  const addons: string[] = ['better-sqlite3', 'unix-dgram'];
  if (rec(c.tool.doc.gates).binding === 'onoff') addons.push('onoff');
  if (serialPorts(c.tool.doc).length > 0) addons.push('serialport');
  const broken: string[] = [];
  for (const addon of addons) {
    try {
      const mod = (await import(addon)) as Record<string, unknown>;
      if (addon === 'better-sqlite3') {
        const D = mod.default as new (f: string) => { close(): void };
        new D(':memory:').close();
      }
    } catch (err) {
      broken.push(`${addon}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  out.push(
    broken.length === 0
      ? result('addons', 'ok', `native addons load: ${addons.join(', ')}`)
      : result(
          'addons',
          'fail',
          broken.join('; '),
          `rebuild them for this Node and CPU: cd ${packageRoot()} && npm rebuild (needs build-essential python3)`,
        ),
  );
  return out;
}

function systemdChecks(c: CheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  const dropIns = join(c.sysRoot, 'etc/systemd/journald.conf.d');
  const capped = existsSync(dropIns)
    ? readdirSync(dropIns).some((f) =>
        /^\s*SystemMaxUse=/m.test(readFileSync(join(dropIns, f), 'utf8')),
      )
    : false;
  const main = join(c.sysRoot, 'etc/systemd/journald.conf');
  const cappedMain = existsSync(main) && /^\s*SystemMaxUse=/m.test(readFileSync(main, 'utf8'));
  out.push(
    capped || cappedMain
      ? result('journald', 'ok', 'journal size capped (SystemMaxUse)')
      : result(
          'journald',
          'warn',
          'journald has no size cap: logs can fill the SD card',
          `install -D -m 644 ${packageRoot()}/provisioning/journald-customs-edge.conf ${dropIns}/customs-edge.conf && systemctl restart systemd-journald`,
        ),
  );
  const unit = join(c.sysRoot, 'etc/systemd/system/customs-edge.service');
  out.push(
    existsSync(unit)
      ? result('unit', 'ok', `${unit} installed`)
      : result(
          'unit',
          'warn',
          'the systemd unit is not installed',
          `cp ${packageRoot()}/provisioning/customs-edge.service /etc/systemd/system/ && systemctl daemon-reload && systemctl enable customs-edge`,
        ),
  );
  return out;
}

export function hostChecks(c: CheckContext): CheckResult[] {
  return [...gpioChecks(c), ...serialChecks(c), ...clockChecks(c), ...systemdChecks(c)];
}

export { nodeChecks };
