import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The systemd unit as systemd reads it (Debian's systemd-analyze, offline: no running systemd
 * needed): no unknown or misplaced setting, and the hardening holds its exposure score.
 */
const unit = new URL('../../provisioning/customs-edge.service', import.meta.url).pathname;

function analyze(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('provisioning/customs-edge.service', () => {
  it('systemd-analyze verify finds nothing to say about it', () => {
    const r = analyze(['verify', unit]);
    // verify exits 0 on unknown keys but prints them: any line naming the unit is a problem
    const complaints = `${r.out}\n${r.err}`
      .split('\n')
      .filter((l) => l.includes('customs-edge.service'));
    expect(complaints).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('systemd-analyze security rates it OK (exposure <= 2.5)', () => {
    const r = analyze(['security', '--offline=yes', unit]);
    const m = /Overall exposure level for customs-edge\.service: ([\d.]+) (\w+)/.exec(r.out);
    expect(m, r.out + r.err).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.5);
    // the settings the gateway needs stay: real-time for the gate controller, V8's JIT, serial
    const text = readFileSync(unit, 'utf8');
    expect(text).toMatch(/^CapabilityBoundingSet=CAP_SYS_NICE$/m);
    expect(text).not.toMatch(/^(RestrictRealtime|MemoryDenyWriteExecute|PrivateDevices)=yes/m);
    expect(text).toMatch(/^ProtectSystem=strict$/m);
    expect(text).toMatch(/^DevicePolicy=closed$/m);
  });
});
