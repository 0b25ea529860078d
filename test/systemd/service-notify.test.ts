import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket, type UnixDgramSocket } from 'unix-dgram';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.js';
import { ServiceNotifier, watchdogInterval } from '../../edge/service-notify.js';
import { freePort } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * systemd's notify protocol against a real AF_UNIX datagram socket standing in for
 * /run/systemd/notify: the notifier alone, then the real gateway process started as systemd
 * would start a Type=notify unit with WatchdogSec.
 */

const root = new URL('../../', import.meta.url).pathname;
let dir: string;
let socketPath: string;
let receiver: UnixDgramSocket;
const received: string[] = [];
const messages = () => received.flatMap((m) => m.split('\n'));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edge-notify-'));
  socketPath = join(dir, 'notify');
  receiver = createSocket('unix_dgram', (msg) => received.push(msg.toString()));
  receiver.bind(socketPath);
});

afterAll(() => {
  receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  received.length = 0;
});

describe('systemd notify', () => {
  it('is off without NOTIFY_SOCKET; the watchdog is only for the process WATCHDOG_PID names', async () => {
    expect(await ServiceNotifier.create({ env: {}, pid: 1, log: silentLogger() })).toBeNull();
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000' }, 42)).toBe(10_000);
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '42' }, 42)).toBe(10_000);
    expect(watchdogInterval({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '7' }, 42)).toBeNull();
    expect(watchdogInterval({}, 42)).toBeNull();
  });

  it('sends READY with a status, pings the watchdog at half its period, STOPPING on stop', async () => {
    const notifier = await ServiceNotifier.create({
      env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '400000' },
      pid: process.pid,
      log: silentLogger(),
    });
    expect(notifier?.watchdogIntervalMs).toBe(200);
    notifier!.ready('line running\nsecond line');
    await waitFor(() => messages().includes('READY=1'), { what: 'READY=1' });
    expect(messages()).toContain('STATUS=line running second line');
    await waitFor(() => messages().filter((m) => m === 'WATCHDOG=1').length >= 3, {
      what: 'three watchdog pings',
    });
    notifier!.stopping();
    await waitFor(() => messages().includes('STOPPING=1'), { what: 'STOPPING=1' });
    notifier!.close();
  });

  it('refuses an abstract socket with a clear error (its messages could not be attributed)', async () => {
    await expect(
      ServiceNotifier.create({
        env: { NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' },
        pid: process.pid,
        log: silentLogger(),
      }),
    ).rejects.toMatchObject({ code: 'EDGE_SYSTEMD_NOTIFY' });
  });

  it('withholds the watchdog ping while the gateway says it is not alive', async () => {
    let alive = false;
    const notifier = await ServiceNotifier.create({
      env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '200000' },
      pid: process.pid,
      log: silentLogger(),
      alive: () => alive,
    });
    notifier!.ready('running');
    await waitFor(() => notifier!.watchdogWithheld >= 3, { what: 'three pings withheld' });
    expect(messages().filter((m) => m === 'WATCHDOG=1')).toEqual([]);
    alive = true;
    await waitFor(() => messages().includes('WATCHDOG=1'), { what: 'pings resume' });
    notifier!.close();
  });

  it('the gateway process tells systemd when the line runs, keeps the watchdog fed, stops cleanly', async () => {
    const doc = parse(
      readFileSync(join(root, 'config/examples/simulated-line.yaml'), 'utf8'),
    ) as Record<string, Record<string, unknown>>;
    doc.dataDir = join(dir, 'data') as never;
    doc.http!.port = await freePort();
    doc.embeddedBroker!.port = await freePort();
    doc.log = { level: 'warn', pretty: false };
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(doc));
    let stderr = '';
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'edge/main.ts'), '--config', file],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '2000000' },
      },
    );
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => messages().includes('READY=1'), {
        timeoutMs: 60_000,
        what: `READY=1 from the gateway (stderr: ${stderr})`,
      });
      expect(messages().find((m) => m.startsWith('STATUS='))).toMatch(/running/);
      await waitFor(() => messages().filter((m) => m === 'WATCHDOG=1').length >= 2, {
        timeoutMs: 30_000,
        what: 'watchdog pings from the gateway',
      });
      child.kill('SIGTERM');
      await waitFor(() => messages().includes('STOPPING=1'), { timeoutMs: 20_000 });
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
