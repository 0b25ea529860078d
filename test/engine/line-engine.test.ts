import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_ORDER } from '../../edge/engine/types.js';
import { TargetingList } from '../../edge/targeting/targeting-list.js';
import { Harness, lineConfig } from './helpers.js';

/** Tracking, stops, device loss, targeting, weight, customs, confirm, PLC hand-off. */

function clearPass(h: Harness, at = 0, code = 'RD223479072CN'): void {
  h.induct(at);
  h.read(at + 1000, code);
  h.verdict(at + 2200, 'clear', at + 2500);
}

describe('tracking', () => {
  it('a live speed change moves the gate time: the command is withdrawn and re-sent', () => {
    const h = new Harness();
    clearPass(h);
    expect(h.gateCommands()).toEqual([
      { gateId: 'gate-pass', parcelId: 'P1', lane: 'pass', fireAtMono: 7950 },
    ]);
    // at 3000 the lead edge is at 3000 mm; 5000 mm to go at 0.5 mm/ms -> 13000
    h.in({ type: 'beltSpeed', deviceId: 'drive', atMono: 3000, mmPerS: 500 }, 3000);
    expect(h.cancels()).toMatchObject([{ gateId: 'gate-pass', parcelId: 'P1', fireAtMono: 7950 }]);
    expect(h.gateCommands().at(-1)).toMatchObject({ fireAtMono: 12950 });
  });

  it('a controlled stop freezes positions; tracking resumes where it was', () => {
    const h = new Harness();
    clearPass(h);
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 3000, state: 'stopped' }, 3000);
    expect(h.cancels()).toHaveLength(1);
    expect(h.engine.nextWakeMono()).toBeNull();
    h.at(60_000);
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 62_000, state: 'running' }, 62_000);
    expect(h.gateCommands().at(-1)).toMatchObject({ fireAtMono: 7950 + 59_000 });
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'pass' });
  });

  it('matches a late CT verdict to where the parcel was at scan time, across a speed change', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'A1');
    h.in({ type: 'beltSpeed', deviceId: 'drive', atMono: 1500, mmPerS: 500 }, 1500);
    // lead at 1500 = 1500 mm; CT window lead in [1800, 2600] -> 2100..3700 ms at 0.5 mm/ms
    h.verdict(3000, 'clear', 5000);
    expect(h.events('ct.verdict')).toHaveLength(1);
    h.verdict(3800, 'suspect', 5000, 'OTHER');
    expect(h.events('ct.unmatched')).toHaveLength(1);
  });

  it('encoder tracking follows counts through a stop, and a silent encoder loses tracking', () => {
    const h = new Harness(
      lineConfig({
        tracking: { mode: 'encoder', mmPerCount: 2, encoderId: 'enc', encoderStaleMs: 500 },
      }),
    );
    const enc = (t: number, count: number) =>
      h.in({ type: 'encoder', deviceId: 'enc', atMono: t, count }, t);
    let count = 0;
    for (let t = 0; t <= 3000; t += 20) {
      enc(t, (count = t / 2));
      // parcel inducted at 100 ms (odometer 100 mm then), read at 1100, scanned at 2300
      if (t === 100)
        h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: t, edge: 'leading' }, t);
      if (t === 500)
        h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: t, edge: 'trailing' }, t);
      if (t === 1100) h.read(1100, 'A1');
    }
    h.verdict(2300, 'clear', 3000);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'pass' });
    // belt stops for 2 s: counts stay; then runs again
    for (let t = 3020; t <= 5000; t += 20) enc(t, count);
    for (let t = 5020; t <= 6000; t += 20) enc(t, (count += 10));
    // lead at 6000: 2900 + 1000 = 3900 mm; reaches 8000 mm 4100 ms later; fire 50 ms earlier
    const last = h.gateCommands().at(-1);
    expect(last?.fireAtMono).toBeGreaterThan(10_050 - 15);
    expect(last?.fireAtMono).toBeLessThan(10_050 + 15);
    expect(h.cancels().length).toBeGreaterThan(0);
    // the encoder goes silent while the belt runs
    h.at(6400);
    expect(h.events('tracking.lost')).toHaveLength(0);
    h.at(6500);
    expect(h.events('tracking.lost')).toHaveLength(1);
    expect(h.lastDecision('P1')).toMatchObject({
      lane: 'inspection',
      ruleId: 'tracking',
      revised: true,
    });
  });
});

describe('E-stop, jam, device loss', () => {
  it('E-stop: a parcel decided pass goes to inspection, its gate command is withdrawn', () => {
    const h = new Harness();
    clearPass(h);
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 3000, state: 'estop' }, 3000);
    expect(h.cancels()).toMatchObject([{ parcelId: 'P1' }]);
    expect(h.lastDecision('P1')).toMatchObject({
      lane: 'inspection',
      ruleId: 'tracking',
      revised: true,
    });
    expect(h.events('alarm.estop')).toHaveLength(1);
    // a parcel that appears while the line is in E-stop is unknown too
    h.induct(3500);
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 10_000, state: 'running' }, 10_000);
    expect(h.lastDecision('P2')).toMatchObject({ lane: 'inspection', ruleId: 'tracking' });
    // after the restart, tracking is normal again
    clearPass(h, 11_000, 'RD473124829CN'); // another waybill: P1 is still on the belt
    expect(h.lastDecision('P3')).toMatchObject({ lane: 'pass' });
  });

  it('jam: the induction photo-eye blocked longer than the timeout freezes and fails safe', () => {
    const h = new Harness(lineConfig({ jamTimeoutMs: 2000 }));
    clearPass(h);
    h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: 3000, edge: 'leading' }, 3000);
    h.at(4999);
    expect(h.events('alarm.jam')).toHaveLength(0);
    expect(h.engine.nextWakeMono()).toBeLessThanOrEqual(5000);
    h.at(5000);
    expect(h.events('alarm.jam')).toHaveLength(1);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', revised: true });
    expect(h.lastDecision('P2')).toMatchObject({ lane: 'inspection', ruleId: 'tracking' });
    // the eye clears: tracking resumes for new parcels
    h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: 8000, edge: 'trailing' }, 8000);
    clearPass(h, 9000, 'RD473124829CN'); // another waybill: P1 is still on the belt
    expect(h.lastDecision('P3')).toMatchObject({ lane: 'pass' });
  });

  it('CT link lost: parcels waiting for a verdict, and parcels inducted meanwhile, go to inspection', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'A1');
    const ct = (t: number, ok: boolean) =>
      h.in(
        { type: 'deviceStatus', deviceId: 'ct-1', atMono: t, role: 'ct', ok, reason: 'life bit' },
        t,
      );
    ct(1500, false);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'device-lost' });
    h.induct(2000);
    h.read(3000, 'A2');
    h.verdict(4200, 'clear', 4500);
    expect(h.lastDecision('P2')).toMatchObject({ lane: 'inspection', ruleId: 'device-lost' });
    ct(5000, true);
    clearPass(h, 6000);
    expect(h.lastDecision('P3')).toMatchObject({ lane: 'pass' });
  });

  it('scanner link lost: a parcel still waiting for its read goes to inspection', () => {
    const h = new Harness();
    h.induct(0);
    h.in(
      {
        type: 'deviceStatus',
        deviceId: 'scanner-1',
        atMono: 500,
        role: 'scanner',
        ok: false,
        reason: 'heartbeat',
      },
      500,
    );
    h.verdict(2200, 'clear', 2500);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'device-lost' });
  });
});

describe('reads', () => {
  it('a duplicate read of the same code is recorded and harmless; a different code is a conflict', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'A1');
    h.read(1050, 'A1');
    h.verdict(2200, 'clear', 2500);
    expect(h.events('read.duplicate')).toHaveLength(1);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'pass' });
    h.induct(3000);
    h.read(4000, 'B1');
    h.read(4050, 'B2');
    h.verdict(5200, 'clear', 5500);
    expect(h.events('read.conflict')).toHaveLength(1);
    expect(h.lastDecision('P2')).toMatchObject({ lane: 'inspection', ruleId: 'tracking' });
  });

  it('two CT scans on one parcel: inspection, and a pass already decided is revised', () => {
    const h = new Harness();
    clearPass(h);
    h.verdict(2300, 'clear', 3000, 'ANOTHER-SCAN');
    expect(h.events('ct.conflict')).toHaveLength(1);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', revised: true });
    expect(h.cancels()).toHaveLength(1);
  });

  it('a lost trailing edge is reported and does not lose the parcel', () => {
    const h = new Harness();
    h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: 0, edge: 'leading' }, 0);
    h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: 1000, edge: 'leading' }, 1000);
    expect(h.events('photoeye.pulse-lost')).toHaveLength(1);
    expect(h.engine.trackedCount()).toBe(2);
  });
});

describe('rules', () => {
  it('targeting: exact and prefix hits send to inspection; a new list re-checks a pass decision', () => {
    const h = new Harness();
    h.engine.setTargeting(
      new TargetingList('v1', [{ id: 'e1', match: 'prefix', pattern: 'RD2234' }]),
      0,
    );
    clearPass(h, 0, 'RD223479072CN');
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'targeting' });
    expect(h.events('targeting.hit')[0]?.payload).toMatchObject({
      entryId: 'e1',
      listVersion: 'v1',
    });
    clearPass(h, 3000, 'RD111111111CN');
    expect(h.lastDecision('P2')).toMatchObject({ lane: 'pass' });
    h.outs.push(
      h.engine.setTargeting(
        new TargetingList('v2', [{ id: 'x', match: 'exact', pattern: 'rd111111111cn' }]),
        6000,
      ),
    );
    expect(h.lastDecision('P2')).toMatchObject({
      lane: 'inspection',
      ruleId: 'targeting',
      revised: true,
    });
    expect(h.cancels()).toMatchObject([{ parcelId: 'P2' }]);
  });

  it('weight out of range or missing -> exception; customs mode by waybill -> its outlet', () => {
    const h = new Harness(
      lineConfig({
        scale: { positionMm: 1200, toleranceMm: 150 },
        outlets: [{ id: 'bonded', gateId: 'gate-bonded', positionMm: 7500 }],
        rules: {
          order: [...DEFAULT_RULE_ORDER],
          noReadLane: 'exception',
          weight: { minKg: 0.1, maxKg: 30, lane: 'exception' },
          customsModes: [{ mode: '1210', pattern: '^JD', outlet: 'bonded' }],
        },
      }),
    );
    const weigh = (t: number, kg: number | null) =>
      h.in(
        {
          type: 'weight',
          deviceId: 'scale',
          atMono: t,
          kg,
          status: kg === null ? 'error' : 'stable',
        },
        t,
      );
    h.induct(0);
    h.read(1000, 'JD0001');
    weigh(1400, 2.5);
    h.verdict(2200, 'clear', 2500);
    expect(h.lastDecision('P1')).toMatchObject({
      lane: 'pass',
      outlet: 'bonded',
      customsMode: '1210',
    });
    expect(h.gateCommands().at(-1)).toMatchObject({ gateId: 'gate-bonded', fireAtMono: 7450 });
    h.induct(3000);
    h.read(4000, 'SF0001');
    weigh(4400, 40);
    h.verdict(5200, 'clear', 5500);
    expect(h.lastDecision('P2')).toMatchObject({ lane: 'exception', ruleId: 'weight' });
    h.induct(6000);
    h.read(7000, 'SF0002');
    h.verdict(8200, 'clear', 8500);
    // no weight by the end of the scale window (1200 + 400 + 150 mm)
    expect(h.lastDecision('P3')).toMatchObject({ lane: 'exception', ruleId: 'weight' });
    h.induct(9000);
    h.read(10_000, 'SF0003');
    weigh(10_400, 1);
    h.verdict(11_200, 'clear', 11_500);
    expect(h.lastDecision('P4')).toMatchObject({ lane: 'pass', outlet: 'pass', ruleId: 'clear' });
  });

  it('fail-safe is a property: rules that forget the safety checks still cannot send to pass', () => {
    const h = new Harness(lineConfig({ rules: { order: ['no-read'], noReadLane: 'exception' } }));
    h.engine.setTargeting(new TargetingList('v1', [{ id: 't', match: 'exact', pattern: 'T1' }]), 0);
    h.induct(0);
    h.read(1000, 'A1');
    h.verdict(2200, 'suspect', 2500);
    clearPass(h, 3000, 'T1');
    h.induct(6000);
    h.read(7000, 'A3');
    h.at(20_000); // no verdict at all
    for (const p of ['P1', 'P2', 'P3'])
      expect(h.lastDecision(p)).toMatchObject({ lane: 'inspection', ruleId: 'fail-safe-guard' });
    expect(h.events('alarm.failsafe-guard')).toHaveLength(3);
    expect(h.gateCommands()).toEqual([]);
  });
});

describe('divert confirmation and PLC hand-off', () => {
  const confirmed = () =>
    new Harness(
      lineConfig({
        lanes: {
          exception: { gateId: 'gate-exception', positionMm: 7000, confirmPhotoEyeId: 'pe-exc' },
          pass: { gateId: 'gate-pass', positionMm: 8000, confirmPhotoEyeId: 'pe-pass' },
          inspection: { positionMm: 9000, confirmPhotoEyeId: 'pe-insp' },
        },
      }),
    );
  it('confirmed, missorted and unconfirmed diverts', () => {
    const h = confirmed();
    clearPass(h);
    h.in({ type: 'laneConfirm', deviceId: 'pe-pass', atMono: 8100, lane: 'pass' }, 8100);
    expect(h.events('divert.confirmed')).toMatchObject([{ parcelId: 'P1' }]);
    clearPass(h, 10_000);
    h.in({ type: 'laneConfirm', deviceId: 'pe-insp', atMono: 19_100, lane: 'inspection' }, 19_100);
    expect(h.events('alarm.missort')[0]).toMatchObject({
      parcelId: 'P2',
      payload: { expectedOutlet: 'pass', outlet: 'inspection' },
    });
    clearPass(h, 20_000);
    h.at(40_000);
    expect(h.events('alarm.divert-unconfirmed')).toMatchObject([{ parcelId: 'P3' }]);
  });

  it('PLC mode: the decision is handed to the sorter PLC, and revoked on E-stop', () => {
    const h = new Harness(
      lineConfig({
        lanes: {
          exception: { gateId: 'gate-exception', positionMm: 7000 },
          pass: {
            gateId: 'div-3',
            positionMm: 8000,
            gateMode: 'plc',
            plc: { plcId: 'sorter', destination: 3 },
          },
          inspection: { positionMm: 9000 },
        },
        gateCommandLeadMs: 500,
      }),
    );
    clearPass(h);
    expect(h.gateCommands()).toEqual([]);
    expect(h.plc()).toEqual([
      expect.objectContaining({
        kind: 'plcDivert',
        action: 'divert',
        plcId: 'sorter',
        destination: 3,
        code: 'RD223479072CN',
        lane: 'pass',
        atDiverterMono: 7950,
      }),
    ]);
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 3000, state: 'estop' }, 3000);
    expect(h.plc().at(-1)).toMatchObject({ action: 'revoke', parcelId: 'P1' });
  });

  it('GPIO commands are sent gateCommandLeadMs before they fire', () => {
    const h = new Harness(lineConfig({ gateCommandLeadMs: 500 }));
    clearPass(h);
    expect(h.gateCommands()).toEqual([]);
    expect(h.engine.nextWakeMono()).toBe(7450);
    h.at(7450);
    expect(h.gateCommands()).toMatchObject([{ fireAtMono: 7950 }]);
  });
});

describe('restart', () => {
  it('parcels in a snapshot are recorded as inspection after a gateway restart', () => {
    const h = new Harness();
    clearPass(h);
    h.induct(3000);
    const snap = h.engine.snapshot(3500);
    expect(snap.parcels.map((p) => p.id)).toEqual(['P1', 'P2']);
    const fresh = new Harness();
    const out = fresh.engine.restore(JSON.parse(JSON.stringify(snap)) as typeof snap, 10);
    const d = out.events.filter((e) => e.type === 'parcel.decided');
    expect(d.map((e) => [e.parcelId, e.payload.lane, e.payload.previousLane])).toEqual([
      ['P1', 'inspection', 'pass'],
      ['P2', 'inspection', null],
    ]);
    expect(out.gateCommands).toEqual([]);
  });
});
