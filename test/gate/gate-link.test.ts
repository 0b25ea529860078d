import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { LineSignal } from '../../drivers/driver.js';
import { systemClock } from '../../edge/clock.js';
import { GateLink, type GateLinkEvents } from '../../edge/gate/gate-link.js';
import { waitFor } from '../support/wait.js';
import { gatesConfig } from './gates-config.js';

/** The gateway's side: a real forked controller, killed and hung on purpose. */

const log = pino({ level: 'silent' });
let link: GateLink | null = null;

afterEach(async () => {
  await link?.stop();
  link = null;
});

/** The first `event` the link emits, or a timeout. */
function next<K extends 'fired' | 'failed' | 'restarted'>(
  l: GateLink,
  event: K,
  timeoutMs = 10_000,
): Promise<GateLinkEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no '${event}' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    (l.once as (e: K, fn: (v: GateLinkEvents[K][0]) => void) => unknown)(event, (v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

function makeLink(partial: Record<string, unknown>): GateLink {
  link = new GateLink(
    'gates',
    gatesConfig(partial),
    { log, clock: systemClock },
    { reportWrites: true },
  );
  link.handFireGuard = () => null; // no line engine here: nothing tracked at the gates
  return link;
}

const base = {
  heartbeatIntervalMs: 50,
  safeStateAfterMs: 400,
  outputs: [
    { id: 'gate-pass', pin: 17, pulseMs: 50 },
    { id: 'gate-exception', pin: 27, pulseMs: 50 },
  ],
  inputs: [
    { id: 'pe-infeed', pin: 22, role: 'photoEye', debounceMs: 0 },
    { id: 'pe-pass', pin: 23, role: 'laneConfirm', lane: 'pass', debounceMs: 0 },
    { id: 'run', pin: 24, role: 'running', debounceMs: 0 },
    { id: 'key', pin: 25, role: 'maintenance', debounceMs: 0 },
    { id: 'enc', pin: 26, role: 'encoder', debounceMs: 0, reportIntervalMs: 10 },
  ],
  stackLight: { red: { pin: 5 } },
};

describe('GateLink', () => {
  it('fires on schedule and reports lateness; input edges become engine signals', async () => {
    const l = makeLink(base);
    const signals: LineSignal[] = [];
    l.on('signal', (s) => signals.push(s));
    await l.start();
    expect(l.health().state).toBe('running');
    // SCHED_FIFO where allowed (root / CAP_SYS_NICE), otherwise the fallback says why
    const d = l.health().details as { realtimePriority: number; realtimeNote: string | null };
    if (d.realtimePriority > 0)
      expect(execFileSync('chrt', ['-p', String(l.controllerPid)], { encoding: 'utf8' })).toMatch(
        /SCHED_FIFO[\s\S]*priority: 50/,
      );
    else expect(d.realtimeNote).toMatch(/SCHED_FIFO refused/);
    const at = systemClock.monoMs() + 50;
    const fired = next(l, 'fired');
    l.schedule({ gateId: 'gate-pass', parcelId: 'p1', lane: 'pass', fireAtMono: at });
    const f = await fired;
    expect(f).toMatchObject({ gateId: 'gate-pass', parcelId: 'p1' });
    expect(f.latenessMs).toBeGreaterThanOrEqual(0);
    expect(l.health().details).toMatchObject({ latenessMs: { samples: 1 } });

    l.simulateInput('pe-infeed', 1);
    l.simulateInput('pe-pass', 1);
    l.simulateInput('run', 1);
    for (let i = 0; i < 3; i++) {
      l.simulateInput('enc', 1);
      l.simulateInput('enc', 0);
    }
    await waitFor(() => signals.some((s) => s.type === 'encoder' && s.count === 3), {
      what: 'encoder count 3',
    });
    expect(signals.find((s) => s.type === 'photoEye')).toMatchObject({
      deviceId: 'pe-infeed',
      edge: 'leading',
    });
    expect(signals.find((s) => s.type === 'laneConfirm')).toMatchObject({ lane: 'pass' });
    expect(signals.find((s) => s.type === 'lineState')).toMatchObject({ state: 'running' });
    expect(l.lineRunning).toBe(true);
    expect(l.maintenance).toBe(false);
    l.simulateInput('key', 1);
    await waitFor(() => l.maintenance, { what: 'maintenance key' });
  });

  it('a withdrawn command does not fire', async () => {
    const l = makeLink(base);
    await l.start();
    const outputs: { output: string; value: number }[] = [];
    l.on('output', (o) => outputs.push(o));
    const at = systemClock.monoMs() + 300;
    l.schedule({ gateId: 'gate-exception', parcelId: 'p9', lane: 'exception', fireAtMono: at });
    expect(
      l.cancel({ gateId: 'gate-exception', parcelId: 'p9', fireAtMono: at, reason: 'stop' }),
    ).toBe(true);
    // a later jog proves the controller processed both messages before it
    await l.jogFire('gate-pass', 20);
    await waitFor(() => systemClock.monoMs() > at + 50, { what: 'past the fire time' });
    expect(outputs.filter((o) => o.output === 'gate-exception' && o.value === 1)).toEqual([]);
  });

  it('a killed controller is reported and restarted; lamps are restored', async () => {
    const l = makeLink(base);
    await l.start();
    l.setLight('light-red', true);
    await waitFor(
      () => (l.health().details as { lights: Record<string, number> }).lights['light-red'] === 1,
    );
    const firstPid = l.controllerPid;
    const outputs: { output: string; value: number }[] = [];
    l.on('output', (o) => outputs.push(o));
    const states: string[] = [];
    l.on('health', (h) => states.push(h.state));
    const restarted = next(l, 'restarted', 20_000);
    l.killController('SIGKILL');
    await waitFor(() => states.includes('degraded'), { what: 'degraded' });
    expect(l.health().lastError).toMatchObject({ code: 'EDGE_GATE_CONTROLLER_DOWN' });
    expect(l.health().lastError?.message).toMatch(/SIGKILL/);
    expect((await restarted).restarts).toBe(1);
    await waitFor(() => l.health().state === 'running', {
      timeoutMs: 10_000,
      what: 'running again',
    });
    expect(l.controllerPid).not.toBe(firstPid);
    await waitFor(() => outputs.some((o) => o.output === 'light-red' && o.value === 1), {
      what: 'red lamp restored',
    });
    expect(l.health().details).toMatchObject({ restarts: 1 });
    const fired = await l.jogFire('gate-pass', 20);
    expect(fired.gateId).toBe('gate-pass');
  });

  it('a hung controller (SIGSTOP) is killed and restarted', async () => {
    const l = makeLink(base);
    await l.start();
    const restarted = next(l, 'restarted', 20_000);
    l.killController('SIGSTOP');
    expect((await restarted).restarts).toBe(1);
    await waitFor(() => l.health().state === 'running', {
      timeoutMs: 10_000,
      what: 'running again',
    });
  });

  it('owner-started heartbeats: a long start-up does not send the controller safe; commands before arming fail safe', async () => {
    link = new GateLink(
      'gates',
      gatesConfig(base),
      { log, clock: systemClock },
      { reportWrites: true, heartbeatsFrom: 'owner' },
    );
    const l = link;
    const states: string[] = [];
    l.on('controllerState', (s) => states.push(s.state));
    const outputs: { output: string; value: number }[] = [];
    l.on('output', (o) => outputs.push(o));
    await l.start();
    // the gateway is still starting: well past safeStateAfterMs (400) without a heartbeat
    const until = systemClock.monoMs() + 1000;
    await waitFor(() => systemClock.monoMs() > until, { what: 'a slow start-up' });
    expect(l.gateState).toBe('starting');
    expect(states).not.toContain('safe');
    // a parcel decided now: its gate command is refused, the gate stays off (inspection lane)
    const failed = next(l, 'failed');
    l.schedule({
      gateId: 'gate-pass',
      parcelId: 'early',
      lane: 'pass',
      fireAtMono: systemClock.monoMs() + 50,
    });
    expect((await failed).error).toMatch(/starting.*first heartbeat/);
    await l.beginHeartbeats();
    expect(l.gateState).toBe('armed');
    expect(states).toEqual(['armed']);
    const fired = next(l, 'fired');
    l.schedule({
      gateId: 'gate-pass',
      parcelId: 'armed',
      lane: 'pass',
      fireAtMono: systemClock.monoMs() + 50,
    });
    expect((await fired).parcelId).toBe('armed');
    expect(outputs.filter((o) => o.output === 'gate-pass' && o.value === 1)).toHaveLength(1);
  });

  it('refuses commands while the controller is safe and says why', async () => {
    const l = makeLink(base);
    await l.start();
    l.setSafe('line stopped by the gateway');
    await waitFor(() => l.gateState === 'safe', { what: 'safe' });
    const failed = next(l, 'failed');
    l.schedule({
      gateId: 'gate-pass',
      parcelId: 'p1',
      lane: 'pass',
      fireAtMono: systemClock.monoMs() + 50,
    });
    expect((await failed).error).toMatch(/safe.*commanded/);
    await expect(l.jogFire('gate-pass')).rejects.toThrow(/safe/);
    l.arm();
    await waitFor(() => l.gateState === 'armed', { what: 'armed' });
  });

  it('fails to start with a clear error on an inconsistent configuration', async () => {
    const l = makeLink({
      outputs: [
        { id: 'a', pin: 17 },
        { id: 'b', pin: 17, mode: 'hold-while-present' },
      ],
    });
    await expect(l.start()).rejects.toMatchObject({ code: 'EDGE_GPIO_CONFIG' });
    expect(l.health().lastError?.message).toMatch(/BCM pin 17 is already used by 'a'/);
    expect(l.health().lastError?.message).toMatch(/presenceInput/);
  });
});
