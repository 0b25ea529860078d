import { describe, expect, it } from 'vitest';
import { Harness, lineConfig } from './helpers.js';

/** Defects found in review: each of these once let a parcel that must be inspected reach pass. */
describe('engine fail-safe fixes from review', () => {
  it('the same CT scan judged again as suspect (review screen) revises a pass decision', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    h.verdict(2200, 'clear', 2500, 'S1');
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'pass' });
    h.verdict(2200, 'suspect', 3000, 'S1');
    expect(h.events('ct.verdict_revised').at(-1)?.payload).toMatchObject({
      previous: 'clear',
      applied: true,
    });
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection' });
    expect(h.cancels()).toMatchObject([{ gateId: 'gate-pass', parcelId: 'P1' }]);
  });

  it('the same scan re-judged as clear after suspect does not clear the parcel', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    h.verdict(2200, 'suspect', 2500, 'S1');
    h.verdict(2200, 'clear', 3000, 'S1');
    expect(h.events('ct.verdict_revised').at(-1)?.payload).toMatchObject({ applied: false });
    expect(h.decisions('P1').every((d) => d.lane === 'inspection')).toBe(true);
  });

  it('two parcels on the belt with one waybill: both go to inspection, the pass gate is withdrawn', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    h.verdict(2200, 'clear', 2500);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'pass' });
    h.induct(3000);
    h.read(4000, 'RD223479072CN');
    expect(h.events('read.duplicate_waybill')).toHaveLength(2);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection' });
    h.verdict(5200, 'clear', 5500);
    expect(h.lastDecision('P2')).toMatchObject({ lane: 'inspection' });
    expect(h.cancels()).toMatchObject([{ gateId: 'gate-pass', parcelId: 'P1' }]);
  });

  it('an officer verdict by a waybill two parcels share: suspect reaches both, clear reaches none', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'X-1');
    h.induct(1500);
    h.read(2500, 'X-1');
    h.in(
      {
        type: 'officerVerdict',
        atMono: 2600,
        parcelId: null,
        waybill: 'X-1',
        verdict: 'suspect',
        officerId: 'o',
        reportId: null,
      },
      2600,
    );
    expect(h.events('ct.officer_verdict').map((e) => [e.parcelId, e.payload.applied])).toEqual([
      ['P1', true],
      ['P2', true],
    ]);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection' });
    expect(h.lastDecision('P2')).toMatchObject({ lane: 'inspection' });
  });

  it('an encoder count that goes backwards (counter reset) loses tracking: the pass decision is revised', () => {
    const h = new Harness(
      lineConfig({
        tracking: { mode: 'encoder', mmPerCount: 2, encoderId: 'enc', encoderStaleMs: 500 },
      }),
    );
    const enc = (t: number, count: number) =>
      h.in({ type: 'encoder', deviceId: 'enc', atMono: t, count }, t);
    for (let t = 0; t <= 3000; t += 20) {
      enc(t, t / 2);
      if (t === 100)
        h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: t, edge: 'leading' }, t);
      if (t === 500)
        h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: t, edge: 'trailing' }, t);
      if (t === 1100) h.read(1100, 'A1');
    }
    h.verdict(2300, 'clear', 3000);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'pass' });
    enc(3020, 0); // the PLC restarted its counter
    expect(h.events('tracking.lost').at(-1)?.payload.reason).toMatch(/went backwards/);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'tracking' });
    // tracking carries on from the current position: a new parcel is tracked normally
    for (let t = 3040; t <= 3400; t += 20) enc(t, (t - 3020) / 2);
    expect(h.engine.nextWakeMono()).not.toBeNull();
  });

  it('an encoder jump no belt could make loses tracking too', () => {
    const h = new Harness(
      lineConfig({
        tracking: { mode: 'encoder', mmPerCount: 2, encoderId: 'enc', encoderStaleMs: 500 },
      }),
    );
    const enc = (t: number, count: number) =>
      h.in({ type: 'encoder', deviceId: 'enc', atMono: t, count }, t);
    enc(0, 0);
    h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: 10, edge: 'leading' }, 10);
    enc(20, 10);
    enc(40, 1_000_000);
    expect(h.events('tracking.lost').at(-1)?.payload.reason).toMatch(/jumped/);
  });
});
