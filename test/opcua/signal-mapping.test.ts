import { describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clocks.js';
import type { OpcuaSignalConfig } from '../../drivers/opcua/config-schema.js';
import { LifeBitWatch } from '../../drivers/opcua/life-bit.js';
import { expandNodeId } from '../../drivers/opcua/node-address.js';
import {
  decodeScanResult,
  eventSelect,
  mapDataChange,
  mapEvent,
  mapVerdict,
  wallToMono,
} from '../../drivers/opcua/signal-mapping.js';

/** Pure mapping rules: no server needed. */

const signal = (s: Partial<OpcuaSignalConfig>): OpcuaSignalConfig => ({
  name: 'x',
  kind: 'value',
  samplingIntervalMs: 0,
  queueSize: 1000,
  discardOldest: false,
  invert: false,
  scale: 1,
  lifeBitTimeoutMs: 3000,
  ...s,
});

describe('OPC UA signal mapping', () => {
  it('moves a server wall timestamp onto the monotonic clock; never into the future', () => {
    const clock = new ManualClock(100_000);
    expect(wallToMono(clock, clock.wallMs() - 2500)).toBe(97_500);
    expect(wallToMono(clock, clock.wallMs() + 5000)).toBe(100_000);
    expect(wallToMono(clock, null)).toBe(100_000);
  });

  it('maps verdicts: DICOS-like words by default, configured values, anything else unknown', () => {
    expect(mapVerdict('NO_ALARM', undefined)).toBe('clear');
    expect(mapVerdict('Alarm', undefined)).toBe('suspect');
    expect(mapVerdict('maybe', undefined)).toBe('unknown');
    expect(mapVerdict(null, undefined)).toBe('unknown');
    const values = { clear: [0, 'OK'], suspect: [1, 2] };
    expect(mapVerdict(0, values)).toBe('clear');
    expect(mapVerdict(2, values)).toBe('suspect');
    expect(mapVerdict(3, values)).toBe('unknown');
    expect(mapVerdict('NO_ALARM', values)).toBe('unknown');
  });

  it('builds select clauses from presets, with overrides', () => {
    const ct = eventSelect(signal({ kind: 'ctVerdict', fieldNamespace: 'urn:v' }));
    expect(ct.names).toContain('TrackingId');
    expect(ct.namespaceUri).toBe('urn:v');
    const scan = eventSelect(signal({ kind: 'barcode' }));
    expect(scan).toMatchObject({
      keys: ['scanResult'],
      namespaceUri: 'http://opcfoundation.org/UA/AutoID/',
    });
    expect(scan.eventType).toMatch(/i=1009$/);
    const custom = eventSelect(signal({ kind: 'ctVerdict', fields: { verdict: 'Decision' } }));
    expect(custom.names[custom.keys.indexOf('verdict')]).toBe('Decision');
  });

  it('maps a verdict event: tracking id or waybill, scan time, image id', () => {
    const clock = new ManualClock(50_000);
    const s = signal({ kind: 'ctVerdict' });
    const ctx = { clock, deviceId: 'ct-1', eventTimeMs: clock.wallMs() };
    const m = mapEvent(
      s,
      {
        scanId: 'T1',
        verdict: 'ALARM',
        imageId: 'I1',
        scannedAt: new Date(clock.wallMs() - 3000),
        confidence: 0.9,
      },
      ctx,
    );
    expect(m?.input).toEqual({
      type: 'ctVerdict',
      deviceId: 'ct-1',
      scannedAtMono: 47_000,
      verdict: 'suspect',
      scanId: 'T1',
      imageId: 'I1',
      // the identifiers the engine places the verdict by
      ids: { ctItem: 'T1', image: 'I1' },
      // carried into the ct.verdict record
      details: { waybill: null, confidence: 0.9, operator: null },
    });
    expect(m?.details).toMatchObject({ confidence: 0.9 });
    expect(mapEvent(s, { waybill: 'RD1', verdict: 'NO_ALARM' }, ctx)?.input).toMatchObject({
      scanId: 'RD1',
      imageId: null,
      ids: { waybill: 'RD1' },
    });
    expect(mapEvent(s, { verdict: 'NO_ALARM' }, ctx)).toBeNull();
  });

  it('reads identifier structures (Machine Vision PartId / ResultId) by their Id field', () => {
    const clock = new ManualClock(50_000);
    const s = signal({ kind: 'ctVerdict', preset: 'machineVisionResultReady' });
    const ctx = { clock, deviceId: 'ct-mv', eventTimeMs: clock.wallMs() };
    const m = mapEvent(
      s,
      { scanId: { id: 'P-7', description: null }, imageId: { id: 'R-7' }, verdict: 2 },
      ctx,
    );
    expect(m?.input).toMatchObject({ scanId: 'P-7', imageId: 'R-7', verdict: 'suspect' });
    expect(mapEvent(s, { scanId: { id: '' }, verdict: 2 }, ctx)).toBeNull();
  });

  it('a verdict without a scan time keeps its verdict: the engine places it by its identifiers', () => {
    const clock = new ManualClock(50_000);
    const ctx = { clock, deviceId: 'ct-1', eventTimeMs: clock.wallMs() };
    const s = signal({ kind: 'ctVerdict', fields: { plcTrackingId: 'PlcId' } });
    const clear = mapEvent(
      s,
      { waybill: 'RR100000017CN', verdict: 'NO_ALARM', plcTrackingId: 7 },
      ctx,
    );
    expect(clear?.input).toMatchObject({
      verdict: 'clear',
      scannedAtMono: null,
      ids: { waybill: 'RR100000017CN', plcTracking: '7' },
    });
    // a scanner that judges in the tunnel: its event time is the scan time
    const inTunnel = signal({ kind: 'ctVerdict', eventTimeIsScanTime: true });
    expect(mapEvent(inTunnel, { scanId: 'T9', verdict: 'NO_ALARM' }, ctx)?.input).toMatchObject({
      verdict: 'clear',
      scannedAtMono: 50_000,
    });
  });

  it('maps a PLC tracking id given at induction (variable or event); 0 and empty mean none', () => {
    const clock = new ManualClock(10_000);
    const s = signal({ kind: 'trackingId' });
    const ctx = { clock, deviceId: 'plc-1', sourceTimeMs: clock.wallMs() - 5 };
    expect(mapDataChange(s, 4711, ctx)).toEqual({
      type: 'parcelId',
      deviceId: 'plc-1',
      atMono: 9995,
      kind: 'plcTracking',
      value: '4711',
    });
    expect(mapDataChange(s, 0, ctx)).toBeNull();
    expect(mapDataChange(s, '', ctx)).toBeNull();
    const ev = mapEvent(
      signal({ kind: 'trackingId', idKind: 'ctItem' }),
      { trackingId: 'CT-9' },
      {
        clock,
        deviceId: 'ct-1',
        eventTimeMs: clock.wallMs(),
      },
    );
    expect(ev?.input).toMatchObject({ type: 'parcelId', kind: 'ctItem', value: 'CT-9' });
    expect(eventSelect(signal({ kind: 'trackingId' })).names).toEqual(['TrackingId']);
  });

  it('decodes AutoID scan results: structure, array, string, no-read', () => {
    expect(decodeScanResult({ codeType: 'QR', scanData: { string: 'ABC' } })).toEqual({
      code: 'ABC',
      symbology: 'QR',
    });
    expect(decodeScanResult([{ scanData: { byteString: Buffer.from('XYZ') } }])).toEqual({
      code: 'XYZ',
    });
    expect(decodeScanResult('RD1')).toEqual({ code: 'RD1' });
    expect(decodeScanResult({ codeType: 'Code128', scanData: {} }).code).toBeNull();
    expect(decodeScanResult(null).code).toBeNull();
  });

  it('maps data changes: photo-eye (with invert), belt speed scaled to mm/s', () => {
    const clock = new ManualClock(10_000);
    const ctx = { clock, deviceId: 'pe', sourceTimeMs: clock.wallMs() - 5 };
    expect(mapDataChange(signal({ kind: 'photoEye' }), true, ctx)).toEqual({
      type: 'photoEye',
      deviceId: 'pe',
      atMono: 9995,
      edge: 'leading',
    });
    expect(mapDataChange(signal({ kind: 'photoEye', invert: true }), true, ctx)).toMatchObject({
      edge: 'trailing',
    });
    expect(mapDataChange(signal({ kind: 'beltSpeed', scale: 1000 }), 1.25, ctx)).toMatchObject({
      mmPerS: 1250,
    });
    expect(mapDataChange(signal({ kind: 'beltSpeed' }), 'x', ctx)).toBeNull();
  });

  it('expands nsu= nodeIds with the namespace array', () => {
    const ns = ['http://opcfoundation.org/UA/', 'urn:a', 'urn:b'];
    expect(expandNodeId('nsu=urn:b;s=X.Y', ns)).toBe('ns=2;s=X.Y');
    expect(expandNodeId('ns=1;i=5', ns)).toBe('ns=1;i=5');
    expect(() => expandNodeId('nsu=urn:none;s=X', ns)).toThrow(/not on this server/);
  });
});

describe('life bit watch', () => {
  it('ignores the initial value, declares alive on a change, lost after the timeout, back on change', () => {
    const w = new LifeBitWatch(1000, 0);
    expect(w.observe(false, 10)).toBeNull();
    expect(w.observe(true, 500)).toEqual({ ok: true, reason: 'life bit toggling' });
    expect(w.check(1400)).toBeNull();
    expect(w.check(1500)).toMatchObject({ ok: false });
    expect(w.check(2000)).toBeNull(); // reported once
    expect(w.observe(true, 2100)).toBeNull(); // same value: still lost
    expect(w.observe(false, 2200)).toEqual({ ok: true, reason: 'life bit resumed' });
  });

  it('a bit that never toggles is lost after one timeout; a dropped connection is lost at once', () => {
    const w = new LifeBitWatch(1000, 0);
    w.observe(true, 0);
    expect(w.check(1000)).toMatchObject({ ok: false });
    const v = new LifeBitWatch(1000, 0);
    expect(v.connectionLost('connection lost')).toEqual({ ok: false, reason: 'connection lost' });
    v.reset(5000);
    expect(v.observe(true, 5000)).toBeNull();
    expect(v.observe(false, 5100)).toMatchObject({ ok: true, reason: 'life bit resumed' });
  });
});
