import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { GateLink } from '../../edge/gate/gate-link.js';
import { UserDirectory } from '../../edge/http/auth.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { gateRoutes } from '../../edge/http/routes/gate-routes.js';
import { buildHttpServer } from '../../edge/http/server.js';
import { waitFor } from '../support/wait.js';
import { gatesConfig } from './gates-config.js';

/** The jog API on the real HTTP server (auth, roles) with a real forked gate controller. */

const log = pino({ level: 'silent' });
let link: GateLink;
let app: FastifyInstance;
let lineState: string | null = 'running';
let parcelsOnBelt = 0;
let beltClear = true;
const audits: Record<string, unknown>[] = [];
const outputs: { output: string; value: number }[] = [];

const auth = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const tech = auth('tech', 'tech-password');
const admin = auth('boss', 'admin-password');
const viewer = auth('view', 'view-password');

beforeAll(async () => {
  link = new GateLink(
    'gates',
    gatesConfig({
      heartbeatIntervalMs: 50,
      outputs: [{ id: 'gate-pass', pin: 17, pulseMs: 40 }],
      inputs: [
        { id: 'estop', pin: 23, role: 'estop', debounceMs: 0 },
        { id: 'key', pin: 24, role: 'maintenance', debounceMs: 0 },
      ],
      stackLight: { red: { pin: 5 } },
      beacon: { pin: 6, flashMs: 0 },
    }),
    { log, clock: systemClock },
    { reportWrites: true },
  );
  link.on('output', (o) => outputs.push(o));
  link.handFireGuard = () => null; // no line engine here: the routes' interlock decides
  await link.start();
  app = await buildHttpServer({
    log,
    users: new UserDirectory([
      { name: 'tech', role: 'technician', password: 'tech-password' },
      { name: 'boss', role: 'admin', password: 'admin-password' },
      { name: 'view', role: 'viewer', password: 'view-password' },
    ]),
    health: () => ({}),
    board: new ParcelBoard(),
    runningConfig: () => ({}),
    routes: [
      gateRoutes({
        gates: () => link,
        line: () => ({
          state: lineState,
          parcelsOnBelt,
          beltClear: beltClear && parcelsOnBelt === 0,
        }),
        audit: (e) => audits.push(e),
      }),
    ],
  });
}, 30_000);

afterAll(async () => {
  await app?.close();
  await link?.stop();
});

beforeEach(() => {
  audits.length = 0;
  lineState = 'running';
  parcelsOnBelt = 0;
  beltClear = true;
  link.setMaintenance(false);
});

const fire = (authorization: string, id = 'gate-pass', body: unknown = {}) =>
  app.inject({
    method: 'POST',
    url: `/api/gates/outputs/${id}/fire`,
    headers: { authorization },
    payload: body as object,
  });

describe('jog API', () => {
  it('refuses a jog while the line runs, and audits the refusal', async () => {
    const res = await fire(tech);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'EDGE_GPIO_JOG_REFUSED' });
    expect(audits).toEqual([
      expect.objectContaining({
        action: 'gate.jog',
        actor: 'tech',
        output: 'gate-pass',
        outcome: 'refused',
      }),
    ]);
    expect(outputs.filter((o) => o.output === 'gate-pass' && o.value === 1)).toEqual([]);
  });

  it('fires a gate in maintenance mode (set by an admin) and audits both', async () => {
    const forbidden = await app.inject({
      method: 'PUT',
      url: '/api/gates/maintenance',
      headers: { authorization: tech },
      payload: { on: true },
    });
    expect(forbidden.statusCode).toBe(403);
    const on = await app.inject({
      method: 'PUT',
      url: '/api/gates/maintenance',
      headers: { authorization: admin },
      payload: { on: true },
    });
    expect(on.json()).toEqual({ maintenance: true });
    const res = await fire(tech, 'gate-pass', { holdMs: 30 });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ fired: true, output: 'gate-pass' });
    await waitFor(() => outputs.some((o) => o.output === 'gate-pass' && o.value === 1), {
      what: 'gate on',
    });
    expect(audits.map((a) => [a.action, a.actor, a.outcome])).toEqual([
      ['gate.maintenance', 'boss', 'done'],
      ['gate.jog', 'tech', 'done'],
    ]);
    expect(audits[1]).toMatchObject({ holdMs: 30, latenessMs: expect.any(Number) });
  });

  it('in maintenance, a gate is not fired on a running belt that carries parcels; lamps are set', async () => {
    link.setMaintenance(true);
    parcelsOnBelt = 2;
    const refused = await fire(tech);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/2 parcel\(s\) tracked on the running belt/);
    // a lamp cannot divert anything; releasing a gate only sends parcels straight on
    const lamp = await app.inject({
      method: 'POST',
      url: '/api/gates/lights/red',
      headers: { authorization: tech },
      payload: { on: false },
    });
    expect(lamp.statusCode).toBe(200);
    const release = await app.inject({
      method: 'POST',
      url: '/api/gates/outputs/gate-pass/release',
      headers: { authorization: tech },
    });
    expect(release.statusCode).toBe(200);
    // the belt is clear: the technician may fire
    parcelsOnBelt = 0;
    expect((await fire(tech)).statusCode).toBe(200);
    expect(audits.map((a) => [a.action, a.outcome])).toEqual([
      ['gate.jog', 'refused'],
      ['gate.light', 'done'],
      ['gate.release', 'done'],
      ['gate.jog', 'done'],
    ]);
  });

  it('a belt that may carry untracked parcels is not fired at; release is always allowed; a running-belt fire is a short pulse', async () => {
    // outside maintenance on a running line: the gate still goes to its safe state
    const release = await app.inject({
      method: 'POST',
      url: '/api/gates/outputs/gate-pass/release',
      headers: { authorization: tech },
    });
    expect(release.statusCode).toBe(200);
    link.setMaintenance(true);
    beltClear = false;
    const refused = await fire(tech);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/parcels the engine does not track/);
    beltClear = true;
    expect((await fire(tech, 'gate-pass', { holdMs: 5000 })).statusCode).toBe(200);
    expect(audits.map((a) => [a.action, a.outcome])).toEqual([
      ['gate.release', 'done'],
      ['gate.jog', 'refused'],
      ['gate.jog', 'done'],
    ]);
    expect(audits[2]).toMatchObject({ holdMs: 5000, heldMs: 500 });
  });

  it('the maintenance key switch allows jogs too; a viewer may not jog', async () => {
    link.simulateInput('key', 1);
    await waitFor(() => link.maintenance, { what: 'key switch' });
    expect((await fire(viewer)).statusCode).toBe(403);
    expect((await fire(tech)).statusCode).toBe(200);
    link.simulateInput('key', 0);
    await waitFor(() => !link.maintenance, { what: 'key switch off' });
  });

  it('with the line stopped: lights and beacon are set; unknown outputs are 404; E-stop refuses gates', async () => {
    lineState = 'stopped';
    const red = await app.inject({
      method: 'POST',
      url: '/api/gates/lights/red',
      headers: { authorization: tech },
      payload: { on: true },
    });
    expect(red.statusCode).toBe(200);
    await waitFor(() => outputs.some((o) => o.output === 'light-red' && o.value === 1), {
      what: 'red on',
    });
    const green = await app.inject({
      method: 'POST',
      url: '/api/gates/lights/green',
      headers: { authorization: tech },
      payload: { on: true },
    });
    expect(green.statusCode).toBe(404);
    expect((await fire(tech, 'light-red')).statusCode).toBe(404);
    link.simulateInput('estop', 1);
    await waitFor(() => link.estop, { what: 'E-stop' });
    const refused = await fire(tech);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/E-stop/);
    link.simulateInput('estop', 0);
    await waitFor(() => link.gateState === 'armed', { what: 're-armed' });
    expect(audits.map((a) => [a.action, a.outcome])).toEqual([
      ['gate.light', 'done'],
      ['gate.light', 'failed'],
      ['gate.jog', 'failed'],
      ['gate.jog', 'refused'],
    ]);
    const state = await app.inject({
      method: 'GET',
      url: '/api/gates',
      headers: { authorization: tech },
    });
    expect(state.json()).toMatchObject({
      configured: true,
      controllerState: 'armed',
      lineRunning: false,
      outputs: expect.arrayContaining([{ id: 'beacon', kind: 'beacon' }]),
    });
  });
});
