import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small, real file system for tests that fill the disk: a tmpfs of a given size mounted on a
 * fresh folder (as root, or through passwordless sudo). Where mounting is impossible the test
 * is skipped with the reason, unless EDGE_TEST_REQUIRE_TMPFS=1 (set by .ci/run), which makes it
 * fail instead: CI must not pass by skipping.
 */

export interface SmallDisk {
  dir: string;
  unmount(): void;
}

function mountCommand(): string[] | null {
  if (process.getuid?.() === 0) return [];
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
    return ['sudo', '-n'];
  } catch {
    return null;
  }
}

function run(prefix: string[], args: string[]): void {
  const [cmd, ...rest] = [...prefix, ...args];
  execFileSync(cmd!, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Mount a tmpfs of `size` (mount's syntax: 8m) on a new folder. */
export function mountSmallDisk(size: string, prefix = 'small-disk-'): SmallDisk {
  const cmd = mountCommand();
  if (!cmd) throw new Error('mounting a tmpfs needs root or passwordless sudo');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    run(cmd, ['mount', '-t', 'tmpfs', '-o', `size=${size},mode=0777`, 'tmpfs', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`mount -t tmpfs failed: ${e.stderr?.toString().trim() || e.message}`);
  }
  return {
    dir,
    unmount: () => {
      try {
        run(cmd, ['umount', '-l', dir]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Whether a tmpfs can be mounted here: null when it can, else why not. Throws instead when
 * EDGE_TEST_REQUIRE_TMPFS=1.
 */
export function smallDiskUnavailable(): string | null {
  let reason: string | null = null;
  try {
    mountSmallDisk('1m', 'small-disk-probe-').unmount();
  } catch (err) {
    reason = (err as Error).message;
  }
  if (reason && process.env.EDGE_TEST_REQUIRE_TMPFS === '1') {
    throw new Error(`EDGE_TEST_REQUIRE_TMPFS=1 but no tmpfs can be mounted: ${reason}`);
  }
  return reason;
}
