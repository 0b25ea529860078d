import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Starting the gate-controller process: a plain fork, or under SCHED_FIFO through `chrt` when
 * `gates.realtimePriority` > 0 (the IPC channel survives chrt's exec, so the child is a normal
 * forked Node process with a real-time scheduling policy). On a shared or loaded machine this
 * is what keeps the controller's timer wake-ups on time; the busy-wait before each fire is at
 * most spinBeforeMs, so the real-time task cannot starve the rest of the system (and the
 * kernel's RT throttling caps it anyway).
 */

export function controllerEntry(): { path: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./controller/gate-controller-process.${ts ? 'ts' : 'js'}`, import.meta.url);
  return { path: fileURLToPath(url), execArgv: ts ? ['--import', 'tsx'] : [] };
}

/** null when SCHED_FIFO at this priority is allowed here; otherwise why not. */
export function realtimeRefusal(priority: number): string | null {
  try {
    execFileSync('chrt', ['-f', String(priority), 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return e.stderr?.toString().trim() || e.message;
  }
}

export function launchController(realtimePriority: number): ChildProcess {
  const { path, execArgv } = controllerEntry();
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  if (realtimePriority > 0) {
    return spawn('chrt', ['-f', String(realtimePriority), process.execPath, ...execArgv, path], {
      stdio,
      serialization: 'advanced',
    });
  }
  return fork(path, [], { execArgv, stdio, serialization: 'advanced' });
}
