import { describe, expect, it } from 'vitest';
import { makeS10 } from '../../edge/identifiers/s10.js';
import type { CtVerdict, EngineConfig, ParcelIds } from '../../edge/engine/types.js';
import { Harness, lineConfig } from './helpers.js';

/**
 * Correlation by identifier: a verdict is placed on the parcel its identifiers name, whatever is
 * in the tunnel when it arrives; position only without identifiers; never on a parcel whose
 * identifiers contradict it.
 */

const waybill = (n: number) => makeS10('RR', String(100_000_000 + n).slice(-8), 'CN');

function ct(
  h: Harness,
  now: number,
  verdict: CtVerdict,
  ids: ParcelIds,
  scannedAtMono: number | null = null,
) {
  return h.in(
    {
      type: 'ctVerdict',
      deviceId: 'ct-1',
      scannedAtMono,
      verdict,
      scanId: ids.ctItem ?? ids.waybill ?? 'none',
      imageId: ids.image ?? null,
      ids,
    },
    now,
  );
}

/** The hand-offs of decisions (not the provisional inspection ones before them). */
function decided(h: Harness) {
  return h.plc().filter((c) => !c.provisional);
}

/** Run the engine's timers up to `until`, waking when it asks (as the runner does). */
function advance(h: Harness, until: number): void {
  for (let next = h.engine.nextWakeMono(); next !== null && next <= until;) {
    h.at(next);
    const after = h.engine.nextWakeMono();
    if (after === next) break;
    next = after;
  }
  h.at(until);
}

/** One decision point serving every destination (a cross-belt / shoe sorter). */
export function sorterLine(over: Partial<EngineConfig> = {}): EngineConfig {
  const plc = (destination: number) => ({
    gateId: 'sorter-dp1',
    positionMm: 7000,
    gateMode: 'plc' as const,
    plc: { plcId: 'sorter', destination },
  });
  return lineConfig({
    lanes: { inspection: plc(1), exception: plc(2), pass: plc(3) },
    ...over,
  });
}

describe('verdicts placed by identifier', () => {
  it('a verdict by waybill without a scan time, 1.5 s after the tunnel, lands on its own parcel', () => {
    // parcels every 800 ms at 1 m/s: when a verdict arrives, another parcel is in the tunnel
    const h = new Harness();
    const n = 12;
    const truth = new Map<string, CtVerdict>();
    const steps: [number, () => void][] = [];
    for (let i = 0; i < n; i++) {
      const t0 = i * 800;
      const w = waybill(i);
      truth.set(w, i % 4 === 1 ? 'suspect' : 'clear');
      steps.push([t0, () => h.induct(t0)]);
      steps.push([t0 + 1000, () => h.read(t0 + 1000, w)]);
      // 1.5 s after the parcel left the tunnel (2400 mm)
      steps.push([t0 + 3900, () => ct(h, t0 + 3900, truth.get(w)!, { waybill: w })]);
    }
    steps.sort((a, b) => a[0] - b[0]);
    for (const [at, step] of steps) {
      advance(h, at);
      step();
    }
    advance(h, 30_000);
    expect(h.events('ct.unmatched')).toEqual([]);
    for (let i = 0; i < n; i++) {
      const id = `P${i + 1}`;
      const placed = h.events('ct.verdict').find((e) => e.parcelId === id);
      expect(placed?.payload).toMatchObject({
        ids: { waybill: waybill(i) },
        placedBy: 'identifier',
      });
      expect(h.lastDecision(id)?.lane).toBe(
        truth.get(waybill(i)) === 'clear' ? 'pass' : 'inspection',
      );
    }
  });

  it('the identifier wins over the scan time; the disagreement is an event and an alarm', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, waybill(17));
    h.induct(1500);
    h.read(2500, waybill(25));
    // the event time taken as scan time: parcel 2 was in the tunnel then
    ct(h, 3900, 'suspect', { waybill: waybill(17) }, 3900);
    ct(h, 5400, 'clear', { waybill: waybill(25) }, 5400);
    h.at(20_000);
    expect(h.events('ct.verdict').map((e) => [e.parcelId, e.payload.verdict])).toEqual([
      ['P1', 'suspect'],
      ['P2', 'clear'],
    ]);
    expect(h.events('ct.position_mismatch')[0]).toMatchObject({
      parcelId: 'P1',
      payload: { placedOn: 'P1', parcelAtScanTime: 'P2' },
    });
    expect(h.events('alarm.ct-position-mismatch').length).toBeGreaterThan(0);
    expect(h.lastDecision('P1')?.lane).toBe('inspection');
    expect(h.lastDecision('P2')?.lane).toBe('pass');
  });

  it('never on a parcel whose identifiers contradict it: not attached, alarmed, inspection', () => {
    const h = new Harness();
    h.induct(0);
    h.in({ type: 'parcelId', deviceId: 'plc-1', atMono: 0, kind: 'plcTracking', value: '7' }, 0);
    h.read(1000, waybill(1));
    ct(h, 3000, 'clear', { waybill: waybill(1), plcTracking: '9' });
    h.at(20_000);
    expect(h.events('ct.verdict')).toEqual([]);
    expect(h.events('ct.identifier_conflict')[0]).toMatchObject({
      parcelId: 'P1',
      payload: { matched: ['waybill'], contradicted: ['plcTracking'] },
    });
    expect(h.events('alarm.ct-identifier-conflict')).toHaveLength(1);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'tracking' });
  });

  it('a verdict that matches no tracked parcel is ct.unmatched with an alarm', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, waybill(1));
    ct(h, 3000, 'clear', { waybill: waybill(2) });
    ct(h, 3100, 'clear', {}); // no identifier, no scan time
    expect(h.events('ct.unmatched').map((e) => e.payload.reason)).toEqual([
      'no tracked parcel carries its identifiers',
      'no identifier and no scan time: it cannot be placed',
    ]);
    expect(h.events('alarm.ct-unmatched')).toHaveLength(2);
    h.at(20_000);
    expect(h.lastDecision('P1')).toMatchObject({
      lane: 'inspection',
      ruleId: 'ct-verdict-timeout',
    });
  });

  it('without identifiers a verdict is placed by its scan time; a new CT item id is learned and names the parcel later', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, waybill(1));
    ct(h, 2500, 'clear', { ctItem: 'CT-0001' }, 2200);
    expect(h.events('ct.verdict')[0]).toMatchObject({
      parcelId: 'P1',
      payload: { placedBy: 'position', learned: ['ctItem'] },
    });
    // the officer at the review screen: same item, suspect, no scan time
    ct(h, 4000, 'suspect', { ctItem: 'CT-0001', image: 'IMG-9' });
    expect(h.events('ct.verdict_revised')[0]).toMatchObject({
      parcelId: 'P1',
      payload: { applied: true, previous: 'clear', placedBy: 'identifier' },
    });
    expect(h.lastDecision('P1')?.lane).toBe('inspection');
  });

  it('the PLC tracking id given at induction (before or after the photo-eye edge) names the parcel', () => {
    const h = new Harness(sorterLine());
    h.in(
      { type: 'parcelId', deviceId: 'plc-1', atMono: 0, kind: 'plcTracking', value: '000501' },
      0,
    );
    h.induct(0);
    h.read(1000, waybill(1));
    h.induct(1000);
    h.in(
      { type: 'parcelId', deviceId: 'plc-1', atMono: 1000, kind: 'plcTracking', value: '502' },
      1401,
    );
    h.read(2000, null);
    expect(h.events('parcel.tagged').map((e) => [e.parcelId, e.payload.value])).toEqual([
      ['P1', '501'],
      ['P2', '502'],
    ]);
    ct(h, 3000, 'clear', { plcTracking: '501' });
    ct(h, 4000, 'clear', { plcTracking: '502' });
    h.at(20_000);
    const handOffs = decided(h);
    expect(handOffs.map((c) => [c.parcelId, c.lane, c.destination, c.keys])).toEqual([
      ['P1', 'pass', 3, { waybill: waybill(1), plcTracking: '501', inductionSeq: 1 }],
      ['P2', 'exception', 2, { waybill: null, plcTracking: '502', inductionSeq: 2 }],
    ]);
  });
});

describe('a suspect verdict for a parcel already decided pass', () => {
  it('is re-handed to the PLC as inspection while there is time', () => {
    const h = new Harness(sorterLine());
    h.induct(0);
    h.read(1000, waybill(1));
    ct(h, 2500, 'clear', { waybill: waybill(1) });
    expect(decided(h)).toMatchObject([{ action: 'divert', lane: 'pass', destination: 3, seq: 2 }]);
    ct(h, 5000, 'suspect', { waybill: waybill(1) }); // the officer's review
    expect(decided(h)).toMatchObject([
      { action: 'divert', lane: 'pass', seq: 2 },
      { action: 'divert', lane: 'inspection', destination: 1, seq: 3, atDiverterMono: 6950 },
    ]);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', previousLane: 'pass' });
    expect(h.events('alarm.escaped')).toEqual([]);
  });

  it('past the point of no return raises alarm.escaped naming parcel, waybill and lane', () => {
    const h = new Harness(sorterLine());
    h.induct(0);
    h.read(1000, waybill(1));
    ct(h, 2500, 'clear', { waybill: waybill(1) });
    h.at(7000); // the sorter's decision point is behind it
    ct(h, 7100, 'suspect', { waybill: waybill(1) });
    expect(h.events('alarm.escaped')).toMatchObject([
      {
        parcelId: 'P1',
        payload: { parcelId: 'P1', waybill: waybill(1), lane: 'pass', severity: 'critical' },
      },
    ]);
    expect(decided(h)).toHaveLength(1);
  });

  it('after the parcel left the line the late verdict still raises alarm.escaped', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, waybill(1));
    ct(h, 2500, 'clear', { waybill: waybill(1) });
    h.at(60_000);
    expect(h.engine.trackedCount()).toBe(0);
    ct(h, 61_000, 'suspect', { waybill: waybill(1) });
    expect(h.events('ct.after_departure')).toHaveLength(1);
    expect(h.events('alarm.escaped')).toMatchObject([
      { parcelId: 'P1', payload: { waybill: waybill(1), lane: 'pass' } },
    ]);
    expect(h.events('ct.unmatched')).toEqual([]);
  });
});

describe('a sorter with one decision point', () => {
  it('every parcel is handed off with its destination, inspection included', () => {
    const h = new Harness(sorterLine());
    h.induct(0);
    h.read(1000, waybill(1));
    h.induct(1000);
    h.read(2000, waybill(2));
    h.induct(2000);
    ct(h, 3000, 'clear', { waybill: waybill(1) });
    h.read(3000, null);
    h.induct(3000);
    ct(h, 4000, 'suspect', { waybill: waybill(2) });
    h.read(4000, waybill(4)); // no verdict: inspection at the deadline
    ct(h, 5000, 'clear', {}, 4200);
    advance(h, 30_000);
    expect(decided(h).map((c) => [c.parcelId, c.lane, c.destination, c.gateId])).toEqual([
      ['P1', 'pass', 3, 'sorter-dp1'],
      ['P2', 'inspection', 1, 'sorter-dp1'],
      ['P3', 'exception', 2, 'sorter-dp1'],
      ['P4', 'inspection', 1, 'sorter-dp1'],
    ]);
    expect(h.plc().every((c) => c.action === 'divert' && c.atDiverterMono !== null)).toBe(true);
    // before its decision, each parcel the PLC can know is handed off to inspection
    expect(
      h
        .plc()
        .filter((c) => c.provisional)
        .map((c) => [c.parcelId, c.lane, c.destination]),
    ).toEqual([
      ['P1', 'inspection', 1],
      ['P2', 'inspection', 1],
      ['P4', 'inspection', 1],
    ]);
  });
});

describe('reads delivered late', () => {
  it('a read made inside the scanner window but delivered after it closed is taken while the parcel is undecided', () => {
    const h = new Harness();
    h.induct(0);
    h.at(1400); // window end (800 + 400 + 150 mm at 1 m/s): no read yet
    expect(h.events('parcel.noread')).toMatchObject([{ payload: { reason: 'no-read-in-window' } }]);
    // stamped 1000, arrives at 1400
    h.in(
      { type: 'barcode', deviceId: 'scanner-1', atMono: 1000, code: waybill(1), valid: true },
      1400,
    );
    expect(h.events('parcel.identified')).toMatchObject([
      { parcelId: 'P1', payload: { code: waybill(1), deliveredAfterWindow: true } },
    ]);
    ct(h, 3000, 'clear', { waybill: waybill(1) });
    advance(h, 20_000);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'pass' });
  });
});

describe('parcels the sorter PLC tracks and the gateway does not', () => {
  it('a PLC tracking id that finds no parcel is handed to the PLC for inspection, alarmed', () => {
    const h = new Harness(sorterLine());
    // the photo-eye pulse was lost: the PLC saw a parcel, the gateway did not
    h.in({ type: 'parcelId', deviceId: 'plc-1', atMono: 0, kind: 'plcTracking', value: '777' }, 0);
    expect(h.engine.nextWakeMono()).toBe(500);
    h.at(500);
    expect(h.events('parcel.id_unmatched')).toHaveLength(1);
    expect(h.plc()).toMatchObject([
      {
        parcelId: 'untracked-plc-777',
        keys: { plcTracking: '777', waybill: null },
        lane: 'inspection',
        destination: 1,
        atDiverterMono: 6950,
      },
    ]);
    expect(h.events('alarm.untracked-parcel')[0]?.payload).toMatchObject({
      plcTracking: '777',
      handedToInspection: true,
    });
  });

  it('two PLC ids on one parcel: the parcel goes to inspection, and so does the other id', () => {
    const h = new Harness(sorterLine());
    h.in({ type: 'parcelId', deviceId: 'plc-1', atMono: 0, kind: 'plcTracking', value: '1' }, 0);
    h.induct(0);
    h.in(
      { type: 'parcelId', deviceId: 'plc-1', atMono: 150, kind: 'plcTracking', value: '2' },
      400,
    );
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'tracking' });
    expect(
      h
        .plc()
        .filter((c) => !c.provisional)
        .map((c) => [c.parcelId, c.keys.plcTracking, c.lane]),
    ).toEqual([
      ['untracked-plc-2', '2', 'inspection'],
      ['P1', '1', 'inspection'],
    ]);
  });
});
