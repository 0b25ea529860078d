import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SerialBarcodeConfig, SerialMtSicsConfig } from '../../drivers/serial/config.js';
import { listSerialPorts } from '../../drivers/serial/port-list.js';
import { nodeSerialBinding, type SerialBinding } from '../../drivers/serial/port.js';
import { SerialDriver } from '../../drivers/serial/serial-driver.js';
import { ScaleSimulator } from '../../drivers/serial/sim/scale-sim.js';
import { systemClock } from '../../edge/clock.js';
import { UserDirectory } from '../../edge/http/auth.js';
import { ParcelBoard } from '../../edge/http/parcel-board.js';
import { serialRoutes } from '../../edge/http/routes/serial-routes.js';
import { buildHttpServer } from '../../edge/http/server.js';
import { silentLogger } from '../../edge/log.js';
import { waitFor } from '../support/wait.js';
import { portSettings, silentLog, startPtyPair, type TestLine } from './socat.js';

/** The technician's serial API over a real pty: port list with by-id names, monitor, test command. */

const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const tech = basic('tech', 'tech-secret');
const reconnect = { initialMs: 50, maxMs: 400, pathPollMs: 50 };

let scaleLine: TestLine;
let scannerLine: TestLine;
let byIdDir: string;
let scale: SerialDriver;
let scanner: SerialDriver;
let sim: ScaleSimulator;
const audits: Record<string, unknown>[] = [];
let app: Awaited<ReturnType<typeof buildHttpServer>>;

beforeAll(async () => {
  scaleLine = await startPtyPair('scale');
  scannerLine = await startPtyPair('scanner');
  byIdDir = mkdtempSync(join(tmpdir(), 'by-id-'));
  symlinkSync(
    realpathSync(scaleLine.driverEnd),
    join(byIdDir, 'usb-Mettler_Toledo_ICS-if00-port0'),
  );
  const mt: SerialMtSicsConfig = {
    id: 'scale-1',
    kind: 'serial-mt-sics',
    port: portSettings(scaleLine.driverEnd),
    reconnect,
    monitorFrames: 20,
    polling: { command: 'SI', intervalMs: 50, timeoutMs: 300, retries: 1 },
    emit: 'change',
    testCommands: ['S', 'SI', 'I4'],
  };
  const bc: SerialBarcodeConfig = {
    id: 'scanner-1',
    kind: 'serial-barcode',
    port: portSettings(scannerLine.driverEnd),
    reconnect,
    monitorFrames: 20,
    pattern: '^(?<code>\\S+)$',
    noRead: ['NOREAD'],
    noReadStatuses: [],
    identifiers: { s10: true, carriers: [], acceptUnmatched: false },
  };
  sim = new ScaleSimulator(portSettings(scaleLine.deviceEnd), nodeSerialBinding, {
    protocol: 'mt-sics',
  });
  await sim.open();
  sim.state = { status: 'stable', kg: 2.5 };
  scale = new SerialDriver(mt, { log: silentLog, clock: systemClock });
  scanner = new SerialDriver(bc, { log: silentLog, clock: systemClock });
  await scale.start();
  await scanner.start();
  app = await buildHttpServer({
    log: silentLogger(),
    users: new UserDirectory([
      { name: 'tech', role: 'technician', password: 'tech-secret' },
      { name: 'view', role: 'viewer', password: 'view-secret' },
    ]),
    board: new ParcelBoard(),
    health: () => ({ status: 'ok' }),
    runningConfig: () => ({}),
    routes: [
      serialRoutes({
        drivers: () => [scale, scanner, { id: 'other' }],
        byIdDir,
        audit: (e) => audits.push(e),
      }),
    ],
  });
  await waitFor(() => scale.health().details.deviceOk === true, { what: 'scale answering' });
});

afterAll(async () => {
  await app?.close();
  await scale?.stop();
  await scanner?.stop();
  await sim?.close().catch(() => undefined);
  await scaleLine?.cleanup();
  await scannerLine?.cleanup();
  if (byIdDir) rmSync(byIdDir, { recursive: true, force: true });
});

describe('serial technician API', () => {
  it('needs the technician role', async () => {
    expect((await app.inject({ url: '/api/serial/ports' })).statusCode).toBe(401);
    const viewer = await app.inject({
      url: '/api/serial/ports',
      headers: basic('view', 'view-secret'),
    });
    expect(viewer.statusCode).toBe(403);
  });

  it('lists ports with by-id names and the configured drivers; enumeration errors are reported', async () => {
    const res = await app.inject({ url: '/api/serial/ports', headers: tech });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      ports: { path: string; byId: string[] }[];
      errors: string[];
      configured: { driverId: string; link: string; polled: boolean }[];
    }>();
    const real = realpathSync(scaleLine.driverEnd);
    expect(body.ports.find((p) => p.path === real)?.byId).toEqual([
      join(byIdDir, 'usb-Mettler_Toledo_ICS-if00-port0'),
    ]);
    expect(body.configured.map((c) => [c.driverId, c.link, c.polled])).toEqual([
      ['scale-1', 'open', true],
      ['scanner-1', 'open', false],
    ]);
    // on machines without udevadm, serialport's list() rejects: reported, not thrown
    for (const e of body.errors) expect(e).toMatch(/enumeration failed|by-id/);
  });

  it('listSerialPorts never throws when enumeration fails', async () => {
    const broken: SerialBinding = {
      ...nodeSerialBinding,
      list: () => Promise.reject(new Error('spawn udevadm ENOENT')),
    };
    const listing = await listSerialPorts(broken, join(byIdDir, 'missing'));
    expect(listing).toEqual({
      ports: [],
      errors: ['port enumeration failed: spawn udevadm ENOENT'],
    });
  });

  it('monitor: the last N frames in and commands out, as hex and text', async () => {
    await waitFor(() => scale.monitorFrames().length >= 6, { what: 'traffic' });
    const res = await app.inject({
      url: '/api/serial/drivers/scale-1/monitor?limit=4',
      headers: tech,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ frames: { dir: string; kind: string; hex: string; text: string }[] }>();
    expect(body.frames).toHaveLength(4);
    const rx = body.frames.find((f) => f.dir === 'rx');
    expect(rx?.text).toBe('S S      2.500 kg\\r\\n');
    expect(rx?.hex).toBe(Buffer.from('S S      2.500 kg\r\n').toString('hex'));
    expect(body.frames.find((f) => f.dir === 'tx')).toMatchObject({
      kind: 'command',
      text: 'SI\\r\\n',
    });
    expect(res.json<{ lastBytes: { text: string } }>().lastBytes.text).toContain(
      'S S      2.500 kg\\r\\n',
    );
    const missing = await app.inject({ url: '/api/serial/drivers/nope/monitor', headers: tech });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'EDGE_SERIAL_UNKNOWN_DRIVER' });
  });

  it('test command to the polled scale; refused for others and for unlisted commands; audited', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/serial/drivers/scale-1/command',
      headers: tech,
      payload: { command: 'I4' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      driverId: 'scale-1',
      command: 'I4',
      response: { text: 'I4 A "0123456789"\\r\\n' },
    });
    const zero = await app.inject({
      method: 'POST',
      url: '/api/serial/drivers/scale-1/command',
      headers: tech,
      payload: { command: 'Z' },
    });
    expect(zero.statusCode).toBe(400);
    expect(zero.json()).toMatchObject({ code: 'EDGE_SERIAL_COMMAND_REJECTED' });
    const notPolled = await app.inject({
      method: 'POST',
      url: '/api/serial/drivers/scanner-1/command',
      headers: tech,
      payload: { command: 'S' },
    });
    expect(notPolled.statusCode).toBe(400);
    expect(audits.map((a) => [a.actor, a.driverId, a.command, a.ok])).toEqual([
      ['tech', 'scale-1', 'I4', true],
      ['tech', 'scale-1', 'Z', false],
      ['tech', 'scanner-1', 'S', false],
    ]);
  });

  it('a silent scale: 504 after the retries', async () => {
    sim.silent = true;
    const res = await app.inject({
      method: 'POST',
      url: '/api/serial/drivers/scale-1/command',
      headers: tech,
      payload: { command: 'S' },
    });
    sim.silent = false;
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({ code: 'EDGE_SERIAL_COMMAND_TIMEOUT' });
  });
});
