import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import type { CommandContext, CommandHandlers } from '../../edge/commands/router.js';
import type { EngineInput } from '../../edge/engine/types.js';
import type { GateLink } from '../../edge/gate/gate-link.js';
import { RUNNING_BELT_MAX_HOLD_MS } from '../../edge/gate/jog-interlock.js';
import type { Gateway } from '../../edge/gateway/gateway.js';
import { commandHandlers } from '../../edge/gateway/command-handlers.js';
import { waitFor } from '../support/wait.js';
import { startGatesOnlyGateway, TECH_AUTH } from './gates-only-gateway.js';

/**
 * The jog interlock in the whole gateway (example line, simulated GPIO controller, no drivers:
 * the test feeds the engine what a driver would). No gate fired by hand can send a parcel into
 * the pass lane: not on a belt that may still carry parcels the engine does not track (start /
 * restart), not while the engine is absent or the line jammed, and a hold allowed on a stopped
 * line ends when the line starts or a parcel is inducted.
 */

let gateway: Gateway;
let gates: GateLink;
let handlers: CommandHandlers;
let dataDir: string;
const released: { output: string; reason: string }[] = [];
const tech = TECH_AUTH;
const ctx = { commandId: 'c-1', command: 'gate-test' } as CommandContext;

beforeAll(async () => {
  ({ gateway, dataDir } = await startGatesOnlyGateway('edge-jog-'));
  gates = gateway.gateLink!;
  gates.on('released', (r) => released.push(r));
  handlers = commandHandlers({
    runner: () => gateway.runner,
    gateLink: () => gateway.gateLink,
    drivers: () => gateway.drivers,
    audit: (e) => gateway.recordAudit(e),
  });
  await waitFor(() => gates.gateState === 'armed', { what: 'controller armed' });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const audits = () => (gateway.outbox?.recent(['audit'], 200) ?? []).map((e) => e.payload);
const post = (path: string, body?: object) =>
  fetch(`${gateway.httpAddress}${path}`, {
    method: 'POST',
    headers: {
      authorization: tech,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
const fire = (holdMs?: number) =>
  post('/api/gates/outputs/gate-pass/fire', holdMs === undefined ? {} : { holdMs });
const signal = (s: Omit<EngineInput, 'atMono'> & Record<string, unknown>) =>
  gateway.runner!.handle({ ...s, atMono: systemClock.monoMs() } as EngineInput);
const lineState = (state: 'running' | 'stopped' | 'jam') =>
  signal({ type: 'lineState', deviceId: 'test', state });
const forcedReleases = () =>
  audits().filter((a) => a.action === 'gate.release' && a.actor === 'interlock');

describe('hand-moved gates in the gateway', () => {
  it('after a start the belt may carry untracked parcels: no gate fired, even in maintenance', async () => {
    const runner = gateway.runner!;
    expect(runner.engine.state.line).toBe('running');
    expect(runner.engine.trackedCount()).toBe(0);
    expect(runner.beltClearance()).toMatchObject({ clear: false, transitMm: 9700 });
    gates.setMaintenance(true);
    try {
      const res = await fire(20);
      expect(res.status).toBe(409);
      expect(((await res.json()) as { message: string }).message).toMatch(
        /parcels the engine does not track/,
      );
      await expect(
        handlers.gateTest!({ gateId: 'gate-pass', operatorId: 'op-1' }, ctx),
      ).rejects.toMatchObject({ code: 'EDGE_GPIO_JOG_REFUSED' });
    } finally {
      gates.setMaintenance(false);
    }
  });

  it('without an engine (mid-restart) and on a jammed line no gate is fired; release always works', async () => {
    const runner = gateway.runner;
    gates.setMaintenance(true);
    gateway.runner = null;
    try {
      const res = await fire(20);
      expect(res.status).toBe(409);
      expect(((await res.json()) as { message: string }).message).toMatch(
        /line engine is not running/,
      );
    } finally {
      gateway.runner = runner;
      gates.setMaintenance(false);
    }
    lineState('jam');
    expect(gateway.runner!.engine.state.line).toBe('jam');
    const jammed = await fire(20);
    expect(jammed.status).toBe(409);
    expect(((await jammed.json()) as { message: string }).message).toMatch(/line is jam/);
    // to the safe state: allowed on a jammed line outside maintenance; unknown gates are 404
    expect((await post('/api/gates/outputs/gate-pass/release')).status).toBe(200);
    expect((await post('/api/gates/outputs/gate-nope/release')).status).toBe(404);
  });

  it('a hold allowed on a stopped line is released when the line starts, and audited', async () => {
    lineState('stopped');
    const before = released.length;
    const res = await fire(10_000);
    expect(res.status).toBe(200);
    lineState('running');
    await waitFor(
      () =>
        released
          .slice(before)
          .some((r) => r.output === 'gate-pass' && r.reason === 'released by the gateway'),
      { timeoutMs: 5000, what: 'hand hold released at line start' },
    );
    await waitFor(() => forcedReleases().length === 1, { what: 'forced release audited' });
    expect(forcedReleases()[0]).toMatchObject({
      outputs: ['gate-pass'],
      forced: true,
      reason: 'line started',
      outcome: 'done',
    });
  });

  it('once the belt was clear for a full transit: a maintenance fire is a short pulse', async () => {
    await waitFor(() => gateway.runner!.beltClearance().clear, {
      timeoutMs: 30_000,
      what: 'belt clear for one transit',
    });
    gates.setMaintenance(true);
    const jog = vi.spyOn(gates, 'jogFire');
    try {
      const res = await fire(10_000);
      expect(res.status).toBe(200);
      await handlers.gateTest!({ gateId: 'gate-pass', pulseMs: 2000, operatorId: 'op-1' }, ctx);
      expect(jog.mock.calls).toEqual([
        ['gate-pass', RUNNING_BELT_MAX_HOLD_MS],
        ['gate-pass', RUNNING_BELT_MAX_HOLD_MS],
      ]);
      const pulses = () =>
        audits().filter((a) => a.action === 'gate.jog' && a.outcome === 'done' && 'heldMs' in a);
      await waitFor(() => pulses().length === 1, { what: 'short pulse audited' });
      expect(pulses()[0]).toMatchObject({ holdMs: 10_000, heldMs: RUNNING_BELT_MAX_HOLD_MS });
    } finally {
      jog.mockRestore();
      gates.setMaintenance(false);
    }
  }, 40_000);

  it('a hold allowed on a stopped line is released when a parcel is inducted', async () => {
    lineState('stopped');
    const before = released.length;
    expect((await fire(10_000)).status).toBe(200);
    signal({ type: 'photoEye', deviceId: 'pe-infeed', edge: 'leading' });
    expect(gateway.runner!.engine.trackedCount()).toBe(1);
    await waitFor(
      () => released.slice(before).some((r) => r.reason === 'released by the gateway'),
      { timeoutMs: 5000, what: 'hand hold released at induction' },
    );
    await waitFor(() => forcedReleases().length === 2, { what: 'second forced release' });
    expect(forcedReleases()[1]).toMatchObject({
      reason: 'parcel inducted',
      outputs: ['gate-pass'],
    });
    // the tracked parcel blocks every fire on a moving belt, maintenance or not
    lineState('running');
    gates.setMaintenance(true);
    try {
      const res = await fire(20);
      expect(res.status).toBe(409);
      expect(((await res.json()) as { message: string }).message).toMatch(/1 parcel\(s\) tracked/);
    } finally {
      gates.setMaintenance(false);
    }
  });
});
