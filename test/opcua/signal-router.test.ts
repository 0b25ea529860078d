import { describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clocks.js';
import type { EngineInput } from '../../edge/engine/types.js';
import { silentLogger } from '../../edge/log.js';
import { DeviceStatusTracker } from '../../drivers/opcua/device-status.js';
import { SignalRouter } from '../../drivers/opcua/signal-router.js';
import { SIM_NS } from '../../drivers/opcua/signal-mapping.js';
import { node, opcuaConfig } from './helpers.js';

/** The router's bookkeeping in pure form: overflow alarms (throttled, never swallowed), unmapped events. */

function router() {
  const config = opcuaConfig({
    id: 'opcua-r',
    kind: 'opcua',
    servers: [
      {
        id: 'ct',
        endpointUrl: 'opc.tcp://127.0.0.1:1',
        securityMode: 'None',
        signals: [
          { name: 'ct1.verdict', kind: 'ctVerdict', nodeId: node('CT1'), fieldNamespace: SIM_NS },
          { name: 'pe.small', kind: 'photoEye', nodeId: node('PE'), queueSize: 2 },
          { name: 'bcr', kind: 'barcode', nodeId: node('BCR1') },
          {
            name: 'bcr.sf',
            kind: 'barcode',
            nodeId: node('BCR2'),
            identifiers: { carriers: [{ name: 'sf', pattern: '^SF\\d{12}$' }] },
          },
          { name: 'plc.id', kind: 'trackingId', nodeId: node('Sorter1.Induction.TrackingId') },
        ],
      },
    ],
  }).servers[0]!;
  const clock = new ManualClock(1_000);
  const inputs: EngineInput[] = [];
  const alarms: { signal: string; lost: number; total: number }[] = [];
  const r = new SignalRouter(config, {
    clock,
    log: silentLogger(),
    deviceId: 'ct-1',
    devices: new DeviceStatusTracker(config, 'ct-1', clock, (i) => inputs.push(i)),
    emit: (i) => inputs.push(i),
    lifeBitSeen: () => undefined,
    overflowAlarm: (signal, lost, total) => alarms.push({ signal, lost, total }),
  });
  const signal = (name: string) => config.signals.find((s) => s.name === name)!;
  return { r, clock, inputs, alarms, signal };
}

describe('signal router', () => {
  it('alarms an overflow at once, then at most every 10 s, and reports the ones in between', () => {
    const { r, clock, alarms, signal } = router();
    r.overflow(signal('pe.small'));
    r.overflow(signal('pe.small'));
    r.overflow(signal('pe.small'));
    expect(alarms).toEqual([{ signal: 'pe.small', lost: 1, total: 1 }]);
    clock.advance(5_000);
    r.flushOverflowAlarms();
    expect(alarms).toHaveLength(1);
    clock.advance(5_000);
    // no further overflow came: the two counted meanwhile still get their alarm
    r.flushOverflowAlarms();
    expect(alarms.at(-1)).toEqual({ signal: 'pe.small', lost: 2, total: 3 });
    r.flushOverflowAlarms();
    expect(alarms).toHaveLength(2);
  });

  it('counts an event without a usable identifier instead of dropping it silently', () => {
    const { r, inputs, signal } = router();
    r.event(signal('ct1.verdict'), { verdict: 'ALARM', scanId: { opaque: true } }, null);
    r.event(signal('ct1.verdict'), { verdict: 'ALARM', scanId: 'T-1' }, null);
    expect(inputs.filter((i) => i.type === 'ctVerdict')).toHaveLength(1);
    const h = r.health().find((s) => s.name === 'ct1.verdict')!;
    expect(h).toMatchObject({ values: 2, unmapped: 1 });
  });

  it('checks AutoID barcodes like serial reads: a wrong S10 check digit or an unknown format is invalid', () => {
    const { r, inputs, signal } = router();
    const scan = (name: string, code: string) =>
      r.event(
        signal(name),
        { scanResult: { codeType: 'Code128', scanData: { string: code } } },
        null,
      );
    scan('bcr', 'RD223479072CN');
    scan('bcr', 'RD223479073CN'); // wrong check digit: a misread
    scan('bcr', 'SF123456789012'); // no carrier configured on this reader
    scan('bcr.sf', 'SF123456789012');
    expect(inputs.flatMap((i) => (i.type === 'barcode' ? [[i.code, i.valid]] : []))).toEqual([
      ['RD223479072CN', true],
      ['RD223479073CN', false],
      ['SF123456789012', false],
      ['SF123456789012', true],
    ]);
  });

  it('a tracking-id variable: its current value at subscription and a repeated value are no induction', () => {
    const { r, inputs, signal } = router();
    r.dataChange(signal('plc.id'), 1000, null);
    r.dataChange(signal('plc.id'), 1001, null);
    r.dataChange(signal('plc.id'), 1001, null);
    r.dataChange(signal('plc.id'), 1002, null);
    expect(inputs.flatMap((i) => (i.type === 'parcelId' ? [i.value] : []))).toEqual([
      '1001',
      '1002',
    ]);
  });
});
