import { describe, expect, it } from 'vitest';
import type { Frame } from '../../drivers/serial/framers.js';
import { BARCODE_DEFAULTS, BarcodeProfile } from '../../drivers/serial/profiles/barcode.js';
import { CT_ALARM_DEFAULTS, CtAlarmProfile } from '../../drivers/serial/profiles/ct-alarm.js';
import { MtSicsProfile } from '../../drivers/serial/profiles/mt-sics.js';
import {
  encodeToledo,
  toledoChecksum,
  ToledoProfile,
} from '../../drivers/serial/profiles/toledo.js';

const frame = (payload: string | Buffer, raw?: Buffer): Frame => {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  return { payload: p, raw: raw ?? p, trailer: Buffer.alloc(0) };
};
const toledoFrame = (raw: Buffer): Frame => ({
  payload: raw.subarray(1, 16),
  raw,
  trailer: raw.subarray(17),
});

describe('barcode profile', () => {
  const p = new BarcodeProfile({ ...BARCODE_DEFAULTS, multipleRead: 'MULTI', heartbeat: 'HB' });

  it('codes, no-reads, multiple reads, heartbeats, rejects', () => {
    expect(p.parse(frame('RD223479072CN'))).toEqual({
      ok: true,
      value: { type: 'code', code: 'RD223479072CN' },
    });
    expect(p.parse(frame(' NR '))).toEqual({ ok: true, value: { type: 'noRead', text: 'NR' } });
    expect(p.parse(frame('?'))).toMatchObject({ ok: true, value: { type: 'noRead' } });
    expect(p.parse(frame('MULTI'))).toMatchObject({ ok: true, value: { type: 'multipleRead' } });
    expect(p.parse(frame('HB'))).toEqual({ ok: true, value: { type: 'heartbeat' } });
    expect(p.parse(frame('two words'))).toEqual({ ok: false, reason: 'pattern' });
    expect(p.parse(frame(Buffer.from([0x41, 0x00, 0x42])))).toEqual({
      ok: false,
      reason: 'control-bytes',
    });
    expect(p.parse(frame('   '))).toEqual({ ok: false, reason: 'empty' });
  });

  it('status and symbology groups; a no-read status', () => {
    const q = new BarcodeProfile({
      ...BARCODE_DEFAULTS,
      pattern: '^(?<status>[01]);(?<symbology>[A-Za-z0-9]+);(?<code>\\S*)$',
      noReadStatuses: ['0'],
    });
    expect(q.parse(frame('1;CODE128;SF123456789012'))).toEqual({
      ok: true,
      value: { type: 'code', code: 'SF123456789012', status: '1', symbology: 'CODE128' },
    });
    expect(q.parse(frame('0;CODE128;'))).toMatchObject({ ok: true, value: { type: 'noRead' } });
    expect(q.parse(frame('1;QR;'))).toMatchObject({ ok: true, value: { type: 'noRead' } });
  });

  it('a pattern without a code group is a configuration error', () => {
    expect(() => new BarcodeProfile({ ...BARCODE_DEFAULTS, pattern: '^(.+)$' })).toThrow(/code/);
    expect(() => new BarcodeProfile({ ...BARCODE_DEFAULTS, pattern: '^(?<code>[' })).toThrow(
      /invalid regular/,
    );
  });
});

describe('MT-SICS profile', () => {
  const p = new MtSicsProfile();
  it.each([
    ['S S     12.34 kg', { type: 'weight', status: 'stable', kg: 12.34, value: 12.34, unit: 'kg' }],
    ['S D    100.5 g', { type: 'weight', status: 'dynamic', kg: 0.1005, value: 100.5, unit: 'g' }],
    ['S S     -0.02 kg', { type: 'weight', status: 'stable', kg: -0.02, value: -0.02, unit: 'kg' }],
    ['S S      2.000 lb', { type: 'weight', status: 'stable', kg: 0.907185, value: 2, unit: 'lb' }],
    ['S +', { type: 'overload' }],
    ['S -', { type: 'underload' }],
    ['S I', { type: 'busy' }],
    ['ES', { type: 'error', code: 'ES' }],
    ['ET', { type: 'error', code: 'ET' }],
    ['EL', { type: 'error', code: 'EL' }],
  ])('%s', (text, value) => {
    const r = p.parse(frame(text));
    expect(r.ok).toBe(true);
    if (r.ok && r.value.type === 'weight' && 'kg' in value)
      expect(r.value.kg).toBeCloseTo(value.kg, 6);
    else expect(r).toEqual({ ok: true, value });
  });
  it('rejects what it does not know', () => {
    expect(p.parse(frame('S S 12.34 pcs'))).toEqual({ ok: false, reason: 'unit' });
    expect(p.parse(frame('S X 1 kg'))).toEqual({ ok: false, reason: 'unrecognised' });
    expect(p.parse(frame('S S 1.2.3 kg'))).toEqual({ ok: false, reason: 'unrecognised' });
  });
});

describe('Toledo continuous profile', () => {
  const p = new ToledoProfile(true);
  it('weights with decimals, tare, net, motion, units', () => {
    expect(
      p.parse(toledoFrame(encodeToledo({ value: 12.34, tare: 1.5, net: true, checksum: true }))),
    ).toEqual({
      ok: true,
      value: { type: 'weight', status: 'stable', kg: 12.34, tareKg: 1.5, net: true, unit: 'kg' },
    });
    const moving = p.parse(
      toledoFrame(encodeToledo({ value: 3, motion: true, kg: false, checksum: true })),
    );
    expect(moving).toMatchObject({ ok: true, value: { status: 'dynamic', unit: 'lb' } });
    if (moving.ok) expect(moving.value.kg).toBeCloseTo(1.360777, 5);
    expect(p.parse(toledoFrame(encodeToledo({ value: -0.5, checksum: true })))).toMatchObject({
      ok: true,
      value: { kg: -0.5 },
    });
    expect(
      p.parse(toledoFrame(encodeToledo({ value: 1, outOfRange: true, checksum: true }))),
    ).toMatchObject({
      ok: true,
      value: { status: 'overload', kg: null },
    });
    expect(
      p.parse(toledoFrame(encodeToledo({ value: 1, notReady: true, checksum: true }))),
    ).toMatchObject({
      ok: true,
      value: { status: 'error', kg: null },
    });
  });

  it('the checksum makes all bytes sum to 0 mod 128; a bad one is rejected', () => {
    const raw = encodeToledo({ value: 7.77, checksum: true });
    expect([...raw].reduce((a, c) => a + c, 0) & 0x7f).toBe(0);
    expect(toledoChecksum(raw.subarray(0, 17))).toBe(raw[17]);
    const bad = Buffer.from(raw);
    bad[17] = (bad[17]! + 1) & 0x7f;
    expect(p.parse(toledoFrame(bad))).toEqual({ ok: false, reason: 'checksum' });
    const digits = Buffer.from(raw);
    digits[6] = 0x41;
    digits[17] = toledoChecksum(digits.subarray(0, 17));
    expect(p.parse(toledoFrame(digits))).toEqual({ ok: false, reason: 'digits' });
    expect(p.parse(toledoFrame(raw.subarray(0, 17)))).toEqual({ ok: false, reason: 'length' });
    expect(new ToledoProfile(false).parse(toledoFrame(raw.subarray(0, 17)))).toMatchObject({
      ok: true,
    });
  });
});

describe('CT alarm profile', () => {
  const p = new CtAlarmProfile({ ...CT_ALARM_DEFAULTS, heartbeat: 'ALIVE' });
  it('default pattern: scanId;VERDICT;imageId', () => {
    expect(p.parse(frame('S-001;ALARM;IMG-9'))).toEqual({
      ok: true,
      value: {
        type: 'verdict',
        verdict: 'suspect',
        word: 'ALARM',
        recognised: true,
        scanId: 'S-001',
        imageId: 'IMG-9',
        ageMs: 0,
      },
    });
    expect(p.parse(frame('S-002,NO_ALARM'))).toMatchObject({
      ok: true,
      value: { verdict: 'clear', imageId: null },
    });
    expect(p.parse(frame('S-003;MAYBE'))).toMatchObject({
      ok: true,
      value: { verdict: 'unknown', recognised: false },
    });
    expect(p.parse(frame('ALIVE'))).toEqual({ ok: true, value: { type: 'heartbeat' } });
    expect(p.parse(frame('garbage line'))).toEqual({ ok: false, reason: 'pattern' });
  });
  it('a pattern without a verdict group is a configuration error', () => {
    expect(() => new CtAlarmProfile({ ...CT_ALARM_DEFAULTS, pattern: '^(?<scanId>.+)$' })).toThrow(
      /verdict/,
    );
  });
});
