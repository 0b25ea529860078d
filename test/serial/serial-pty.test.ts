import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { SerialDriver } from '../../drivers/serial/serial-driver.js';
import { nodeSerialBinding } from '../../drivers/serial/port.js';
import { ScaleSimulator } from '../../drivers/serial/sim/scale-sim.js';
import { ScannerSimulator } from '../../drivers/serial/sim/scanner-sim.js';
import { waitFor } from '../support/wait.js';
import { barcodeConfig, barcodes, port, ptyHarness, reconnect } from './pty-harness.js';
import { portSettings, silentLog } from './socat.js';
import type { SerialMtSicsConfig } from '../../drivers/serial/config.js';

/**
 * Barcode scanners over real ttys (socat pty pairs): real byte streams from the simulator,
 * split frames, several frames per read, noise, oversized frames, unplugging (killing socat)
 * and replugging without restarting the driver; inter-byte-timeout framing; a throwing listener.
 */

const h = ptyHarness();
afterEach(() => h.cleanup());
const line = () => h.line();
const started = (driver: SerialDriver) => h.started(driver);
const cleanups = h.cleanups;

describe('serial barcode scanner over a pty', () => {
  it('frames split across reads, several in one read, noise and oversized frames', async () => {
    const l = await line();
    const { driver, signals } = await started(
      new SerialDriver(
        barcodeConfig(l.driverEnd, {
          framing: { type: 'delimiter', delimiter: 'crlf', maxFrameBytes: 32 },
        }),
        { log: silentLog, clock: systemClock },
      ),
    );
    const sim = new ScannerSimulator(portSettings(l.deviceEnd), nodeSerialBinding);
    await sim.open();
    cleanups.push(() => sim.close());
    const bytesIn = () => driver.health().counters.bytesIn ?? 0;

    // one frame split in three writes, each seen by the driver before the next is sent
    await sim.writeRaw(Buffer.from('RD2234'));
    await waitFor(() => bytesIn() === 6, { what: 'first part read' });
    await sim.writeRaw(Buffer.from('79072CN\r'));
    await waitFor(() => bytesIn() === 14, { what: 'second part read' });
    expect(barcodes(signals)).toEqual([]);
    await sim.writeRaw(Buffer.from('\n'));
    await waitFor(() => barcodes(signals).length === 1, { what: 'split frame' });
    expect(barcodes(signals)[0]).toEqual({ code: 'RD223479072CN', valid: true });

    // three frames in one write: a valid S10, a no-read, an S10 with a wrong check digit
    await sim.writeRaw(Buffer.from('SF123456789012\r\nNOREAD\r\nRD223479073CN\r\n'));
    await waitFor(() => barcodes(signals).length === 4, { what: 'three frames' });
    expect(barcodes(signals).slice(1)).toEqual([
      { code: 'SF123456789012', valid: true },
      { code: null, valid: false },
      { code: 'RD223479073CN', valid: false },
    ]);

    // noise (control bytes) then a good frame; an oversized frame then a good frame
    await sim.writeRaw(Buffer.from([0x00, 0xff, 0x07, 0x0d, 0x0a]));
    await sim.writeRaw(
      Buffer.concat([Buffer.alloc(100, 0x41), Buffer.from('\r\nRD473124829CN\r\n')]),
    );
    await waitFor(() => barcodes(signals).length === 5, { what: 'frame after noise' });
    expect(barcodes(signals)[4]).toEqual({ code: 'RD473124829CN', valid: true });
    const h = driver.health();
    expect(h.counters.rejected).toBe(2);
    expect(h.details.rejectReasons).toEqual({ 'parse.control-bytes': 1, 'framer.oversize': 1 });
    // the oversized frame and its CR LF, plus the NUL before the noise frame (leading noise)
    expect(h.counters.discardedBytes).toBe(103);
    expect(h.counters.leadingNoiseBytes).toBe(1);
    const monitor = driver.monitorFrames(3);
    expect(monitor.map((m) => m.kind)).toEqual(['reject', 'reject', 'frame']);
    expect(monitor[2]).toMatchObject({
      hex: Buffer.from('RD473124829CN\r\n').toString('hex'),
      text: 'RD473124829CN\\r\\n',
    });
  });

  it('STX/ETX framing and a heartbeat that declares the scanner lost and found', async () => {
    const l = await line();
    const { driver, signals } = await started(
      new SerialDriver(
        barcodeConfig(l.driverEnd, {
          framing: { type: 'stx-etx', maxFrameBytes: 64 },
          heartbeat: { text: 'HB', timeoutMs: 300 },
        }),
        { log: silentLog, clock: systemClock },
      ),
    );
    const sim = new ScannerSimulator(portSettings(l.deviceEnd), nodeSerialBinding, {
      framing: 'stx-etx',
      noReadText: 'NR',
      heartbeatText: 'HB',
    });
    await sim.open();
    cleanups.push(() => sim.close());
    await sim.writeRaw(Buffer.from('junk'));
    await sim.sendRead('RD000000005CN');
    await sim.sendHeartbeat();
    await sim.sendNoRead();
    await waitFor(() => barcodes(signals).length === 2, { what: 'reads' });
    expect(barcodes(signals)).toEqual([
      { code: 'RD000000005CN', valid: true },
      { code: null, valid: false },
    ]);
    expect(driver.health().counters.discardedBytes).toBe(4);
    // the junk never became a frame, but a technician sees it in the byte tail
    expect(driver.lastBytes().text).toContain('junk\\x02RD000000005CN\\x03');
    // silence: the heartbeat timeout declares the scanner lost, the next frame finds it
    const lost = await waitFor(() => signals.find((s) => s.type === 'deviceStatus' && !s.ok), {
      what: 'heartbeat lost',
    });
    expect(lost).toMatchObject({ role: 'scanner', reason: 'heartbeat lost' });
    expect(driver.health().state).toBe('degraded');
    await sim.sendHeartbeat();
    await waitFor(() => signals.filter((s) => s.type === 'deviceStatus' && s.ok).length === 2, {
      what: 'heard again',
    });
    expect(driver.health().state).toBe('running');
  });

  it('kill socat: disconnected in health; start it again: reconnects and reads without a restart', async () => {
    const l = await line();
    const { driver, signals } = await started(
      new SerialDriver(barcodeConfig(l.driverEnd), { log: silentLog, clock: systemClock }),
    );
    let sim = new ScannerSimulator(portSettings(l.deviceEnd), nodeSerialBinding);
    await sim.open();
    await sim.sendRead('RD223479072CN');
    await waitFor(() => barcodes(signals).length === 1, { what: 'read before unplug' });

    await l.unplug();
    await waitFor(() => driver.health().counters.disconnects === 1, { what: 'disconnect seen' });
    const down = driver.health();
    expect(down.state).toBe('degraded');
    expect(down.lastError?.code).toBe('EDGE_SERIAL_DISCONNECTED');
    expect(['backoff', 'waiting-for-path']).toContain(down.details.link);
    expect(signals.find((s) => s.type === 'deviceStatus' && !s.ok)).toMatchObject({
      reason: 'disconnected',
      role: 'scanner',
    });
    await waitFor(() => driver.health().details.link === 'waiting-for-path', {
      what: 'waiting for path',
    });
    await sim.close().catch(() => undefined);

    await l.replug();
    await waitFor(() => driver.health().details.link === 'open', {
      what: 'reopened',
      timeoutMs: 15_000,
    });
    expect(driver.health().state).toBe('running');
    expect(driver.health().counters.opens).toBe(2);
    sim = new ScannerSimulator(portSettings(l.deviceEnd), nodeSerialBinding);
    await sim.open();
    cleanups.push(() => sim.close());
    await sim.sendRead('RD473124829CN');
    await waitFor(() => barcodes(signals).length === 2, { what: 'read after replug' });
    expect(barcodes(signals)[1]).toEqual({ code: 'RD473124829CN', valid: true });
    const statuses = signals.flatMap((s) =>
      s.type === 'deviceStatus' ? [`${s.ok}:${s.reason}`] : [],
    );
    expect(statuses[0]).toBe('true:connected');
    expect(statuses[1]).toBe('false:disconnected');
    expect(statuses.at(-1)).toBe('true:connected');
  });

  it('a path that does not exist yet: waits for it, then opens', async () => {
    const l = await line();
    await l.unplug();
    const driver = new SerialDriver(barcodeConfig(l.driverEnd), {
      log: silentLog,
      clock: systemClock,
    });
    cleanups.push(() => driver.stop());
    await driver.start();
    expect(driver.health().state).toBe('degraded');
    expect(driver.health().details.link).toBe('waiting-for-path');
    await l.replug();
    await waitFor(() => driver.health().details.link === 'open', {
      what: 'opened',
      timeoutMs: 15_000,
    });
    expect(driver.health().state).toBe('running');
  });
});

describe('serial driver robustness over a pty', () => {
  it('inter-byte timeout framing: a frame ends when the line goes quiet', async () => {
    const l = await line();
    const { driver, signals } = await started(
      new SerialDriver(
        barcodeConfig(l.driverEnd, {
          framing: { type: 'inter-byte-timeout', gapMs: 40, maxFrameBytes: 64 },
        }),
        { log: silentLog, clock: systemClock },
      ),
    );
    const sim = new ScannerSimulator(portSettings(l.deviceEnd), nodeSerialBinding);
    await sim.open();
    cleanups.push(() => sim.close());
    await sim.writeRaw(Buffer.from('RD223479072CN'));
    await waitFor(() => barcodes(signals).length === 1, { what: 'first frame after the gap' });
    await sim.writeRaw(Buffer.from('RD473124829CN'));
    await waitFor(() => barcodes(signals).length === 2, { what: 'second frame' });
    expect(barcodes(signals)).toEqual([
      { code: 'RD223479072CN', valid: true },
      { code: 'RD473124829CN', valid: true },
    ]);
    expect(driver.health().counters.frames).toBe(2);
  });

  it('a throwing signal listener is counted and the driver keeps reading', async () => {
    const l = await line();
    const { driver, signals } = await started(
      new SerialDriver(barcodeConfig(l.driverEnd), { log: silentLog, clock: systemClock }),
    );
    driver.on('signal', () => {
      throw new Error('engine bug');
    });
    const sim = new ScannerSimulator(portSettings(l.deviceEnd), nodeSerialBinding);
    await sim.open();
    cleanups.push(() => sim.close());
    await sim.sendRead();
    await sim.sendRead();
    await waitFor(() => barcodes(signals).length === 2, { what: 'reads despite the throw' });
    expect(driver.health().counters.listenerErrors).toBe(2);
    expect(driver.health().state).toBe('running');
  });

  it('MT-SICS unplugged while polling: pending command fails, polls resume after replug', async () => {
    const l = await line();
    const config: SerialMtSicsConfig = {
      id: 'scale-3',
      kind: 'serial-mt-sics',
      port: port(l.driverEnd),
      reconnect,
      monitorFrames: 20,
      polling: { command: 'SI', intervalMs: 40, timeoutMs: 2000, retries: 3 },
      emit: 'change',
      testCommands: ['S'],
    };
    let sim = new ScaleSimulator(portSettings(l.deviceEnd), nodeSerialBinding, {
      protocol: 'mt-sics',
    });
    await sim.open();
    sim.state = { status: 'stable', kg: 4 };
    const { driver, signals } = await started(
      new SerialDriver(config, { log: silentLog, clock: systemClock }),
    );
    await waitFor(() => signals.some((s) => s.type === 'weight' && s.kg === 4), { what: 'weight' });
    sim.silent = true;
    // caught at once: it rejects while the unplug is being awaited
    const pending = driver.sendTestCommand('S').catch((err: unknown) => err);
    await l.unplug();
    expect(await pending).toMatchObject({ code: 'EDGE_SERIAL_NOT_CONNECTED' });
    await waitFor(
      () => signals.some((s) => s.type === 'deviceStatus' && !s.ok && s.reason === 'disconnected'),
      { what: 'disconnected' },
    );
    await expect(driver.sendTestCommand('S')).rejects.toMatchObject({
      code: 'EDGE_SERIAL_NOT_CONNECTED',
    });
    await sim.close().catch(() => undefined);
    await l.replug();
    sim = new ScaleSimulator(portSettings(l.deviceEnd), nodeSerialBinding, { protocol: 'mt-sics' });
    await sim.open();
    cleanups.push(() => sim.close());
    sim.state = { status: 'stable', kg: 7 };
    await waitFor(() => signals.some((s) => s.type === 'weight' && s.kg === 7), {
      what: 'weight after replug',
      timeoutMs: 15_000,
    });
    expect(driver.health().state).toBe('running');
    expect(driver.health().details.deviceOk).toBe(true);
  });
});
