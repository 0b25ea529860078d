/**
 * A CPU budget like one Raspberry Pi 4 core on the x86 test machine: a cgroup with a CFS quota
 * (cgroup v2 `cpu.max`, or cgroup v1 `cpu.cfs_quota_us` where v1 owns the cpu controller, as on
 * this project's machines). Needs root. Where neither can be written, `taskset` pins the process
 * to one CPU next to two busy neighbours (about a third of that core).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CpuBudget {
  /** how the budget is enforced, for the figure's note */
  how: string;
  /** the shell prefix that puts `exec <command>` into the budget */
  wrap(command: readonly string[]): { file: string; args: string[] };
  close(): void;
}

const PERIOD_US = 100_000;

function tryWrite(file: string, value: string): boolean {
  try {
    writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function cgroupV2(name: string, percent: number): CpuBudget | null {
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      const controllers = readFileSync(join(root, 'cgroup.controllers'), 'utf8');
      if (!controllers.split(/\s+/).includes('cpu')) continue;
      const subtree = readFileSync(join(root, 'cgroup.subtree_control'), 'utf8');
      if (!subtree.includes('cpu') && !tryWrite(join(root, 'cgroup.subtree_control'), '+cpu'))
        continue;
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      if (
        !tryWrite(join(dir, 'cpu.max'), `${Math.round((PERIOD_US * percent) / 100)} ${PERIOD_US}`)
      )
        continue;
      return cgroupBudget(dir, `cgroup v2 cpu.max ${percent} % of one core`);
    } catch {
      continue;
    }
  }
  return null;
}

function cgroupV1(name: string, percent: number): CpuBudget | null {
  const root = '/sys/fs/cgroup/cpu';
  if (!existsSync(join(root, 'cpu.cfs_quota_us'))) return null;
  const dir = join(root, name);
  try {
    mkdirSync(dir, { recursive: true });
    if (!tryWrite(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US))) return null;
    if (!tryWrite(join(dir, 'cpu.cfs_quota_us'), String(Math.round((PERIOD_US * percent) / 100))))
      return null;
    return cgroupBudget(
      dir,
      `cgroup v1 cpu.cfs_quota_us ${percent} % of one core (v1 owns the cpu controller here)`,
    );
  } catch {
    return null;
  }
}

function cgroupBudget(dir: string, how: string): CpuBudget {
  return {
    how,
    wrap: (command) => ({
      file: '/bin/sh',
      args: [
        '-c',
        `echo $$ > ${shQuote(join(dir, 'cgroup.procs'))} && exec ${command.map(shQuote).join(' ')}`,
      ],
    }),
    close: () => {
      try {
        rmdirSync(dir);
      } catch {
        /* still has a process (killed late): the kernel frees it when empty */
      }
    },
  };
}

function pinnedWithNeighbours(): CpuBudget {
  const neighbours: ChildProcess[] = [0, 1].map(() =>
    spawn('taskset', ['-c', '0', process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' }),
  );
  return {
    how: 'taskset -c 0 next to two busy neighbours (no writable cgroup cpu controller): about a third of one core',
    wrap: (command) => ({ file: 'taskset', args: ['-c', '0', ...command] }),
    close: () => {
      for (const n of neighbours) n.kill('SIGKILL');
    },
  };
}

/** A CPU budget of `percent` % of one core; close() it when done. */
export function cpuBudget(percent: number): CpuBudget {
  const name = `customs-edge-bench-${process.pid}-${Date.now()}`;
  return cgroupV2(name, percent) ?? cgroupV1(name, percent) ?? pinnedWithNeighbours();
}

/** CPU time (user + system, ms) a process and its direct children have used so far. */
export function cpuMsOfTree(pid: number): number {
  const ticks = (p: number): number => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      return 0;
    }
  };
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    /* gone */
  }
  const clkTck = 100; // USER_HZ on Linux
  return ((ticks(pid) + children.reduce((a, c) => a + ticks(c), 0)) * 1000) / clkTck;
}
