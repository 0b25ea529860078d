import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import type { FromController, ToController } from '../../edge/gate/protocol.js';
import { controllerSettingsFrom } from '../../edge/gate/settings.js';
import { waitFor } from '../support/wait.js';
import { gatesConfig } from './gates-config.js';

/** The real forked gate-controller process, driven over IPC as the gateway would. */

const entry = fileURLToPath(
  new URL('../../edge/gate/controller/gate-controller-process.ts', import.meta.url),
);
let child: ChildProcess | null = null;
let hb: NodeJS.Timeout | null = null;

afterEach(async () => {
  if (hb) clearInterval(hb);
  hb = null;
  const c = child;
  child = null;
  if (c && c.exitCode === null && c.signalCode === null) {
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
});

function start(partial: Record<string, unknown>) {
  const messages: FromController[] = [];
  const c = fork(entry, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  child = c;
  c.on('message', (m) => messages.push(m as FromController));
  const send = (m: ToController) => c.send(m);
  send({
    t: 'configure',
    settings: controllerSettingsFrom(gatesConfig(partial), { reportWrites: true }),
  });
  const heartbeats = (on: boolean) => {
    if (hb) clearInterval(hb);
    hb = on ? setInterval(() => send({ t: 'hb', mono: systemClock.monoMs() }), 50) : null;
  };
  const find = <T extends FromController['t']>(
    t: T,
    pred: (m: Extract<FromController, { t: T }>) => boolean = () => true,
  ) => messages.find((m): m is Extract<FromController, { t: T }> => m.t === t && pred(m as never));
  return { c, messages, send, heartbeats, find };
}

describe('gate-controller process', () => {
  it('goes safe by itself when the gateway heartbeat stops, and re-arms when it resumes', async () => {
    const p = start({
      heartbeatIntervalMs: 50,
      safeStateAfterMs: 300,
      outputs: [{ id: 'g', pin: 17, mode: 'hold', maxHoldMs: 60_000 }],
      stackLight: { blue: { pin: 6, safeValue: 1 } },
    });
    p.heartbeats(true);
    await waitFor(() => p.find('ready'), { timeoutMs: 20_000, what: 'ready' });
    // it arms on the gateway's first heartbeat after start, not before
    await waitFor(
      () =>
        p.find(
          'state',
          (m) => m.state === 'armed' && m.reason === 'first heartbeat from the gateway',
        ),
      { what: 'armed' },
    );
    p.send({ t: 'fire', id: 1, output: 'g', atMono: systemClock.monoMs() + 30, parcelId: 'p1' });
    await waitFor(() => p.find('output', (m) => m.output === 'g' && m.value === 1), {
      what: 'gate active',
    });
    p.heartbeats(false);
    const stoppedAt = systemClock.monoMs();
    const safe = await waitFor(() => p.find('state', (m) => m.state === 'safe'), {
      what: 'safe state',
    });
    expect(safe.reasons).toEqual(['heartbeat']);
    const released = p.find('output', (m) => m.output === 'g' && m.value === 0)!;
    // not before the silence limit; the controller alone noticed (the gateway sent nothing)
    expect(released.mono - stoppedAt).toBeGreaterThanOrEqual(250);
    expect(p.find('output', (m) => m.output === 'light-blue' && m.value === 1)).toBeTruthy();
    // a command while safe is refused
    p.send({ t: 'fire', id: 2, output: 'g', atMono: systemClock.monoMs() + 20, parcelId: 'p2' });
    await waitFor(() => p.find('failed', (m) => m.id === 2), { what: 'refusal' });
    p.heartbeats(true);
    await waitFor(
      () => p.find('state', (m) => m.state === 'armed' && m.reason === 'heartbeat resumed'),
      {
        what: 're-armed',
      },
    );
  });

  it('drives simulated inputs: edges with early timestamps, E-stop safe in the controller', async () => {
    const p = start({
      outputs: [{ id: 'g', pin: 17 }],
      inputs: [
        { id: 'pe-1', pin: 22, role: 'photoEye', debounceMs: 5 },
        { id: 'estop', pin: 23, role: 'estop', debounceMs: 0 },
      ],
    });
    p.heartbeats(true);
    await waitFor(() => p.find('ready'), { timeoutMs: 20_000, what: 'ready' });
    const before = systemClock.monoMs();
    p.send({ t: 'simInput', input: 'pe-1', value: 1 });
    const edge = await waitFor(() => p.find('edge', (m) => m.input === 'pe-1'), { what: 'edge' });
    expect(edge.value).toBe(1);
    expect(edge.mono).toBeGreaterThanOrEqual(before);
    p.send({ t: 'simInput', input: 'estop', value: 1 });
    await waitFor(() => p.find('state', (m) => m.state === 'safe' && m.reasons.includes('estop')), {
      what: 'E-stop safe',
    });
    p.send({ t: 'simInput', input: 'estop', value: 0 });
    await waitFor(
      () => p.find('state', (m) => m.state === 'armed' && m.reason === 'E-stop estop released'),
      { what: 'armed after E-stop' },
    );
  });

  it('writes the safe state and exits when the gateway goes away (IPC closed)', async () => {
    const p = start({ outputs: [{ id: 'g', pin: 17 }] });
    p.heartbeats(true);
    await waitFor(() => p.find('ready'), { timeoutMs: 20_000, what: 'ready' });
    const exit = new Promise<number | null>((r) => p.c.once('exit', (code) => r(code)));
    p.heartbeats(false);
    p.c.disconnect();
    expect(await exit).toBe(0);
  });

  it('reports a binding that cannot open (onoff without sysfs GPIO) as a clear error', async () => {
    const p = start({
      binding: 'onoff',
      sysfsRoot: '/nonexistent/gpio',
      outputs: [{ id: 'g', pin: 17 }],
    });
    const err = await waitFor(() => p.find('error'), { timeoutMs: 20_000, what: 'error' });
    expect(err.code).toBe('EDGE_GPIO_SYSFS_MISSING');
    expect(err.error).toMatch(/nonexistent/);
  });
});
