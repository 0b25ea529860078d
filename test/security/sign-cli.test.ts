import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandKeyConfig } from '../../config/command-security-schema.js';
import { tempDir } from '../uplink/helpers.js';
import { securityRig } from './command-rig.js';

/** The platform's signing tool (edge/commands/sign-cli.ts): keygen, then sign what the gateway accepts. */

const cli = (args: string[], input?: string) =>
  execFileSync(process.execPath, ['--import', 'tsx', 'edge/commands/sign-cli.ts', ...args], {
    cwd: new URL('../..', import.meta.url),
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });

const dir = tempDir('sign-cli-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sign-cli', () => {
  it('keygen writes a 0600 private key and prints the keys: entry; sign makes what the gateway runs', async () => {
    const entry = parse(
      cli(['keygen', '--id', 'ops-2026-1', '--issuer', 'customs-platform', '--out', dir]),
    ) as CommandKeyConfig[];
    const keyFile = join(dir, 'ops-2026-1.pem');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    expect(entry[0]).toMatchObject({ id: 'ops-2026-1', issuer: 'customs-platform' });
    const rig = securityRig({ keys: entry });
    const common = ['--key', keyFile, '--kid', 'ops-2026-1', '--iss', 'customs-platform'];
    const byArgs = cli([
      'sign',
      ...common,
      '--sub',
      'site-s/gw-sec',
      '--cmd',
      'gate-test',
      '--act',
      'tech-9',
      '--id',
      'cli-1',
      '--args',
      '{"gateId":"gate-pass","operatorId":"tech-9"}',
    ]);
    expect(await rig.send('gate-test', byArgs.trim())).toMatchObject({ id: 'cli-1', ok: true });
    expect(rig.ran[0]?.ctx.actor).toBe('customs-platform/ops-2026-1:tech-9');
    // a request read from stdin, signed as is
    const request = JSON.stringify({
      schema: 1,
      id: 'cli-2',
      args: { listVersion: 'L', entries: [] },
    });
    const fromStdin = cli(
      ['sign', ...common, '--sub', 'site-s/gw-sec', '--cmd', 'targeting-replace'],
      request,
    );
    expect(await rig.send('targeting-replace', fromStdin)).toMatchObject({ id: 'cli-2', ok: true });
    // signed for another gateway: refused here
    const elsewhere = cli([
      'sign',
      ...common,
      '--sub',
      'site-s/gw-x',
      '--cmd',
      'ping',
      '--args',
      '{}',
    ]);
    expect((await rig.send('ping', elsewhere))?.error?.code).toBe('EDGE_COMMAND_WRONG_GATEWAY');
  }, 60_000);
});
