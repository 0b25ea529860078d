import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../edge/gateway/gateway.js';
import { waitFor } from '../support/wait.js';
import { startGatesOnlyGateway, TECH_AUTH } from './gates-only-gateway.js';

/**
 * The gateway's gate wiring with the example's gates section: GPIO inputs reach the engine,
 * the jog API is refused while the line runs and allowed once it stopped, every jog is an audit
 * event in the outbox, and a controller restart is recorded.
 */

let gateway: Gateway;
let dataDir: string;
const tech = TECH_AUTH;

beforeAll(async () => {
  ({ gateway, dataDir } = await startGatesOnlyGateway('edge-gates-'));
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const events = (type: string) => gateway.outbox?.recent([type], 100) ?? [];
const fire = () =>
  fetch(`${gateway.httpAddress}/api/gates/outputs/gate-pass/fire`, {
    method: 'POST',
    headers: { authorization: tech, 'content-type': 'application/json' },
    body: JSON.stringify({ holdMs: 20 }),
  });

describe('gateway gate wiring', () => {
  it('jog refused while running; E-stop input stops the engine; jog allowed once stopped; all audited', async () => {
    const gates = gateway.gateLink!;
    const engine = gateway.runner!.engine;
    expect(engine.state.line).toBe('running');
    const refused = await fire();
    expect(refused.status).toBe(409);

    gates.simulateInput('estop', 1);
    await waitFor(() => engine.state.line === 'estop', { what: 'engine in estop' });
    // the stack light turns amber (parcels on the belt are unknown now) within its 500 ms tick
    await waitFor(() => gateway.stackLight.current?.amber === true, { what: 'amber stack light' });
    expect(gateway.stackLight.current?.green).toBe(false);
    gates.simulateInput('estop', 0);
    await waitFor(() => engine.state.line === 'stopped' && gates.gateState === 'armed', {
      what: 'stopped, controller re-armed',
    });
    const ok = await fire();
    expect(ok.status).toBe(200);

    await waitFor(() => events('audit').length >= 2, { what: 'audit events' });
    expect(
      events('audit').map((e) => [e.payload.action, e.payload.actor, e.payload.outcome]),
    ).toEqual(
      expect.arrayContaining([
        ['gate.jog', 'tech', 'refused'],
        ['gate.jog', 'tech', 'done'],
      ]),
    );
  });

  it('a killed controller is restarted and the restart is recorded', async () => {
    const gates = gateway.gateLink!;
    gates.killController();
    await waitFor(() => events('gate.controller_restarted').length === 1, {
      timeoutMs: 20_000,
      what: 'restart event',
    });
    expect(events('gate.controller_restarted')[0]?.payload).toMatchObject({ restarts: 1 });
    const health = gateway.health();
    expect(health.drivers.find((d) => d.id === 'gates')?.details.restarts).toBe(1);
  });
});
