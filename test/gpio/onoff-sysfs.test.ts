import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The real onoff against a fake sysfs inside a private mount namespace (Linux, root, unshare):
 * the right value / direction / active_low / edge / unexport files are written for BCM pins on a
 * Pi 4 tree (base 512). Elsewhere the test is skipped and says why.
 */

const script = fileURLToPath(new URL('./onoff-sysfs-script.ts', import.meta.url));

function whyNot(): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs in a private mount namespace';
  // the same steps as the script, in a throwaway namespace: unshare, then a tmpfs on /sys/class
  const probe = spawnSync(
    'unshare',
    ['-m', '--propagation', 'private', 'mount', '-t', 'tmpfs', 'tmpfs', '/sys/class'],
    { encoding: 'utf8' },
  );
  if (probe.error) return `unshare is not available: ${probe.error.message}`;
  if (probe.status !== 0)
    return `no private mount namespace with a tmpfs here: ${probe.stderr.trim()}`;
  return null;
}

describe('onoff in a private mount namespace', () => {
  it('writes the right sysfs files for BCM pins on a Pi 4 tree', (ctx) => {
    const reason = whyNot();
    if (reason) {
      ctx.skip(`not run: ${reason}`);
      return;
    }
    const run = spawnSync(
      'unshare',
      ['-m', '--propagation', 'private', process.execPath, '--import', 'tsx', script],
      { encoding: 'utf8', env: { ...process.env, GPIO_FAKE_NS: '1' }, timeout: 60_000 },
    );
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    let obs: Record<string, unknown>;
    try {
      obs = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`script printed no result (status ${run.status}): ${run.stderr}`);
    }
    expect(obs.error).toBeUndefined();
    expect(run.status).toBe(0);
    expect(obs.chip).toBe('gpiochip512 pinctrl-bcm2711 base 512');
    expect(obs.gateOpened).toEqual({ direction: 'low', activeLow: '0', value: '0' });
    expect(obs.gateFired).toBe('1');
    expect(obs.gateReleased).toBe('0');
    // active-low: the raw level "high" is logical 0; values written are logical
    expect(obs.activeLowOpened).toEqual({ direction: 'high', activeLow: '1', value: '0' });
    expect(obs.activeLowOn).toBe('1');
    expect(obs.inputOpened).toEqual({ direction: 'in', edge: 'both' });
    // epoll on a tmpfs file is refused (EPERM): the binding polls instead
    expect(obs.warnings).toEqual([expect.stringMatching(/gpio534.*polling/)]);
    expect(obs.inputEdge).toMatchObject({ value: 1 });
    expect(obs.inputLevel).toBe(1);
    expect(obs.missingPin).toBe('EDGE_GPIO_EXPORT_FAILED');
    expect(obs.exportWritten).toBe('517');
    expect(obs.unexportGate).toBe('529');
    expect(obs.unexportLamp).toBe('539');
    expect(obs.unexportInput).toBe('534');
  });
});
