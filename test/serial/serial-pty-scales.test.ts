import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { SerialDriver } from '../../drivers/serial/serial-driver.js';
import { nodeSerialBinding } from '../../drivers/serial/port.js';
import { ScaleSimulator } from '../../drivers/serial/sim/scale-sim.js';
import { ScannerSimulator } from '../../drivers/serial/sim/scanner-sim.js';
import { waitFor } from '../support/wait.js';
import { port, ptyHarness, reconnect } from './pty-harness.js';
import { portSettings, silentLog } from './socat.js';
import type {
  SerialCtAlarmConfig,
  SerialMtSicsConfig,
  SerialToledoConfig,
} from '../../drivers/serial/config.js';
import { encodeToledo } from '../../drivers/serial/profiles/toledo.js';

/** Scales (MT-SICS polled, Toledo continuous) and a CT alarm line over real socat ptys. */

const h = ptyHarness();
afterEach(() => h.cleanup());
const line = () => h.line();
const started = (driver: SerialDriver) => h.started(driver);
const cleanups = h.cleanups;

describe('scales over a pty', () => {
  it('MT-SICS polled: stable, dynamic, overload, errors; test command; no answer -> lost', async () => {
    const l = await line();
    const config: SerialMtSicsConfig = {
      id: 'scale-1',
      kind: 'serial-mt-sics',
      port: port(l.driverEnd),
      reconnect,
      monitorFrames: 50,
      polling: { command: 'SI', intervalMs: 40, timeoutMs: 200, retries: 1 },
      emit: 'change',
      testCommands: ['S', 'SI', 'I4'],
    };
    const sim = new ScaleSimulator(portSettings(l.deviceEnd), nodeSerialBinding, {
      protocol: 'mt-sics',
    });
    await sim.open();
    cleanups.push(() => sim.close());
    sim.state = { status: 'stable', kg: 12.34 };
    const { driver, signals } = await started(
      new SerialDriver(config, { log: silentLog, clock: systemClock }),
    );
    const weights = () =>
      signals.flatMap((s) => (s.type === 'weight' ? [`${s.status}:${s.kg}`] : []));
    await waitFor(() => weights().includes('stable:12.34'), { what: 'stable weight' });
    sim.state = { status: 'dynamic', kg: 3.5 };
    await waitFor(() => weights().includes('dynamic:3.5'), { what: 'dynamic' });
    sim.state = { status: 'overload' };
    await waitFor(() => weights().includes('overload:null'), { what: 'overload' });
    sim.state = { status: 'underload' };
    await waitFor(() => weights().includes('underload:null'), { what: 'underload' });
    sim.state = { status: 'error', code: 'EL' };
    await waitFor(() => weights().includes('error:null'), { what: 'error' });
    // 'change' mode: one signal per change, not per poll
    expect(new Set(weights()).size).toBe(weights().length);
    expect(sim.received.filter((c) => c === 'SI').length).toBeGreaterThanOrEqual(weights().length);

    const answer = await driver.sendTestCommand('I4');
    expect(answer.response.text).toBe('I4 A "0123456789"\\r\\n');
    await expect(driver.sendTestCommand('Z')).rejects.toMatchObject({
      code: 'EDGE_SERIAL_COMMAND_REJECTED',
    });
    expect(driver.monitorFrames().some((m) => m.dir === 'tx' && m.text === 'I4\\r\\n')).toBe(true);

    sim.silent = true;
    const lost = await waitFor(() => signals.find((s) => s.type === 'deviceStatus' && !s.ok), {
      what: 'scale lost',
    });
    expect(lost).toMatchObject({ role: 'scale', reason: 'no response' });
    expect(driver.health().lastError?.code).toBe('EDGE_SERIAL_DEVICE_SILENT');
    await expect(driver.sendTestCommand('S')).rejects.toMatchObject({
      code: 'EDGE_SERIAL_COMMAND_TIMEOUT',
    });
    sim.silent = false;
    sim.state = { status: 'stable', kg: 1 };
    await waitFor(() => weights().includes('stable:1'), { what: 'answers again' });
    expect(driver.health().state).toBe('running');
  });

  it('Toledo continuous: weights, bad checksums rejected and counted, silence -> lost', async () => {
    const l = await line();
    const config: SerialToledoConfig = {
      id: 'scale-2',
      kind: 'serial-toledo',
      port: port(l.driverEnd),
      reconnect,
      monitorFrames: 50,
      checksum: true,
      emit: 'every',
      silenceTimeoutMs: 400,
    };
    const { driver, signals } = await started(
      new SerialDriver(config, { log: silentLog, clock: systemClock }),
    );
    const sim = new ScaleSimulator(portSettings(l.deviceEnd), nodeSerialBinding, {
      protocol: 'toledo',
      checksum: true,
      rateHz: 1000,
    });
    // written by hand below: the continuous timer would race the exact counts
    sim.silent = true;
    await sim.open();
    cleanups.push(() => sim.close());
    const good = encodeToledo({ value: 5.25, tare: 0.5, checksum: true, net: true });
    const bad = Buffer.from(good);
    bad[bad.length - 1] = ((bad[bad.length - 1] ?? 0) + 1) & 0x7f;
    const moving = encodeToledo({ value: 1.5, motion: true, checksum: true });
    // split frame, two frames in one write, noise, a bad checksum, an oversized run
    await sim.writeRaw(good.subarray(0, 7));
    await waitFor(() => driver.health().counters.bytesIn === 7, { what: 'half frame read' });
    await sim.writeRaw(Buffer.concat([good.subarray(7), Buffer.from('zz'), bad, moving]));
    await sim.writeRaw(
      Buffer.concat([Buffer.from([0x02]), Buffer.alloc(40, 0x30), Buffer.from([0x0d, 0x00])]),
    );
    await sim.writeRaw(good);
    const weights = () =>
      signals.flatMap((s) => (s.type === 'weight' ? [`${s.status}:${s.kg}`] : []));
    await waitFor(() => weights().length === 3, { what: 'three weights' });
    expect(weights()).toEqual(['stable:5.25', 'dynamic:1.5', 'stable:5.25']);
    const h = driver.health();
    expect(h.details.rejectReasons).toEqual({ 'parse.checksum': 1, 'framer.oversize': 1 });
    expect(h.counters.rejected).toBe(2);
    expect(h.counters.bytesIn).toBe(h.counters.discardedBytes! + 4 * good.length);

    const lost = await waitFor(() => signals.find((s) => s.type === 'deviceStatus' && !s.ok), {
      what: 'scale silent',
    });
    expect(lost).toMatchObject({ role: 'scale', reason: 'continuous output stopped' });
    sim.silent = false;
    await waitFor(() => signals.filter((s) => s.type === 'deviceStatus' && s.ok).length === 2, {
      what: 'output back',
    });
  });
});

describe('CT alarm line over a pty', () => {
  it('maps verdict words; unknown words fail safe; scan time from ageMs', async () => {
    const l = await line();
    const config: SerialCtAlarmConfig = {
      id: 'ct-1',
      kind: 'serial-ct-alarm',
      port: port(l.driverEnd),
      reconnect,
      monitorFrames: 50,
      pattern:
        '^CT (?<scanId>\\S+) (?<verdict>\\S+)(?: img=(?<imageId>\\S+))?(?: age=(?<ageMs>\\d+))?$',
      verdicts: { clear: ['NO_ALARM'], suspect: ['ALARM'], unknown: ['UNKNOWN'] },
      scanToLineMs: 0,
    };
    const { driver, signals } = await started(
      new SerialDriver(config, { log: silentLog, clock: systemClock }),
    );
    const sim = new ScannerSimulator(portSettings(l.deviceEnd), nodeSerialBinding);
    await sim.open();
    cleanups.push(() => sim.close());
    const before = systemClock.monoMs();
    await sim.writeRaw(
      Buffer.from(
        'CT s1 NO_ALARM img=i1\r\nCT s2 ALARM age=5000\r\nCT s3 GARBLED\r\nnot a ct line\r\n',
      ),
    );
    await waitFor(() => signals.filter((s) => s.type === 'ctVerdict').length === 3, {
      what: 'verdicts',
    });
    const v = signals.flatMap((s) => (s.type === 'ctVerdict' ? [s] : []));
    expect(v.map((s) => [s.scanId, s.verdict, s.imageId])).toEqual([
      ['s1', 'clear', 'i1'],
      ['s2', 'suspect', null],
      ['s3', 'unknown', null],
    ]);
    expect(v[1]!.scannedAtMono).toBeLessThan(before - 4000);
    expect(driver.health().details.rejectReasons).toEqual({ 'parse.pattern': 1 });
  });
});
