import { describe, expect, it } from 'vitest';
import { LineEngine } from '../../edge/engine/line-engine.js';
import type { EngineOutput } from '../../edge/engine/types.js';
import { lineConfig } from './helpers.js';

/**
 * The walking skeleton's rules with an injected clock: time is just a number passed in.
 * Geometry: 1000 mm/s, scanner at 800, CT at 2000, exception gate 7000, pass gate 8000,
 * inspection straight through at 9000; lead 50 ms, margin 300 ms -> deadline 6650 ms after induction.
 */
const config = lineConfig();

function engine(): LineEngine {
  let n = 0;
  return new LineEngine(config, () => `P${++n}`);
}

function decided(outs: EngineOutput[]) {
  return outs.flatMap((o) => o.events).filter((e) => e.type === 'parcel.decided');
}

function induct(e: LineEngine, at: number): EngineOutput[] {
  return [
    e.handle({ type: 'photoEye', deviceId: 'pe-infeed', atMono: at, edge: 'leading' }, at),
    e.handle(
      { type: 'photoEye', deviceId: 'pe-infeed', atMono: at + 400, edge: 'trailing' },
      at + 400,
    ),
  ];
}

describe('line engine, skeleton rules', () => {
  it('clear verdict and a valid read -> pass, gate scheduled for the moment the parcel reaches it', () => {
    const e = engine();
    const outs = induct(e, 1000);
    outs.push(
      e.handle(
        { type: 'barcode', deviceId: 's', atMono: 2000, code: 'RD223479072CN', valid: true },
        2000,
      ),
    );
    outs.push(
      e.handle(
        {
          type: 'ctVerdict',
          deviceId: 'ct',
          scannedAtMono: 3200,
          verdict: 'clear',
          scanId: 'S1',
          imageId: 'I1',
        },
        4000,
      ),
    );
    const d = decided(outs);
    expect(d).toHaveLength(1);
    expect(d[0]?.payload).toMatchObject({ lane: 'pass', ruleId: 'clear', code: 'RD223479072CN' });
    const cmds = outs.flatMap((o) => o.gateCommands);
    // the pass gate is 8000 mm from the photo-eye: 8000 ms after induction, minus the 50 ms lead
    expect(cmds).toEqual([
      { gateId: 'gate-pass', parcelId: 'P1', lane: 'pass', fireAtMono: 1000 + 8000 - 50 },
    ]);
  });

  it('CT suspect -> inspection at once, even without a barcode, and no gate fires', () => {
    const e = engine();
    const outs = induct(e, 0);
    outs.push(
      e.handle(
        {
          type: 'ctVerdict',
          deviceId: 'ct',
          scannedAtMono: 2200,
          verdict: 'suspect',
          scanId: 'S',
          imageId: null,
        },
        2500,
      ),
    );
    const d = decided(outs);
    expect(d[0]?.payload).toMatchObject({ lane: 'inspection', ruleId: 'ct-suspect' });
    expect(outs.flatMap((o) => o.gateCommands)).toEqual([]);
  });

  it('CT unknown -> inspection', () => {
    const e = engine();
    const outs = induct(e, 0);
    outs.push(
      e.handle({ type: 'barcode', deviceId: 's', atMono: 1000, code: 'X1', valid: true }, 1000),
    );
    outs.push(
      e.handle(
        {
          type: 'ctVerdict',
          deviceId: 'ct',
          scannedAtMono: 2200,
          verdict: 'unknown',
          scanId: 'S',
          imageId: null,
        },
        2500,
      ),
    );
    expect(decided(outs)[0]?.payload).toMatchObject({ lane: 'inspection', ruleId: 'ct-unknown' });
  });

  it('verdict just before the deadline is used; just after, the parcel has gone to inspection', () => {
    const deadline = 6650; // induction at 0
    const inTime = engine();
    const a = induct(inTime, 0);
    a.push(
      inTime.handle(
        { type: 'barcode', deviceId: 's', atMono: 1000, code: 'X1', valid: true },
        1000,
      ),
    );
    a.push(inTime.advance(deadline - 1));
    expect(decided(a)).toHaveLength(0);
    a.push(
      inTime.handle(
        {
          type: 'ctVerdict',
          deviceId: 'ct',
          scannedAtMono: 2200,
          verdict: 'clear',
          scanId: 'S',
          imageId: null,
        },
        deadline - 1,
      ),
    );
    expect(decided(a)[0]?.payload).toMatchObject({ lane: 'pass' });

    const late = engine();
    const b = induct(late, 0);
    b.push(
      late.handle({ type: 'barcode', deviceId: 's', atMono: 1000, code: 'X1', valid: true }, 1000),
    );
    expect(late.nextWakeMono()).toBeLessThanOrEqual(deadline);
    b.push(late.advance(deadline));
    expect(decided(b)[0]?.payload).toMatchObject({
      lane: 'inspection',
      ruleId: 'ct-verdict-timeout',
    });
    b.push(
      late.handle(
        {
          type: 'ctVerdict',
          deviceId: 'ct',
          scannedAtMono: 2200,
          verdict: 'clear',
          scanId: 'S',
          imageId: null,
        },
        deadline + 10,
      ),
    );
    // the late verdict is recorded against the parcel, and does not change the decision
    const verdictEvent = b.flatMap((o) => o.events).find((e) => e.type === 'ct.verdict');
    expect(verdictEvent?.payload).toMatchObject({ afterDecision: true, decidedLane: 'inspection' });
    expect(decided(b)).toHaveLength(1);
  });

  it('no-read (explicit or by the scanner window closing) with a clear verdict -> exception', () => {
    const e = engine();
    const outs = induct(e, 0);
    outs.push(
      e.handle({ type: 'barcode', deviceId: 's', atMono: 1000, code: null, valid: false }, 1000),
    );
    outs.push(
      e.handle(
        {
          type: 'ctVerdict',
          deviceId: 'ct',
          scannedAtMono: 2200,
          verdict: 'clear',
          scanId: 'S',
          imageId: null,
        },
        3000,
      ),
    );
    expect(decided(outs)[0]?.payload).toMatchObject({ lane: 'exception', ruleId: 'no-read' });
    expect(outs.flatMap((o) => o.gateCommands)[0]).toMatchObject({
      gateId: 'gate-exception',
      fireAtMono: 7000 - 50,
    });

    const silent = engine();
    const s = induct(silent, 0);
    // scanner window: lead edge at 800 + 400 (length) + 150 tolerance = 1350 ms
    s.push(silent.advance(1349));
    expect(s.flatMap((o) => o.events).some((x) => x.type === 'parcel.noread')).toBe(false);
    s.push(silent.advance(1350));
    expect(
      s.flatMap((o) => o.events).find((x) => x.type === 'parcel.noread')?.payload,
    ).toMatchObject({ reason: 'no-read-in-window' });
  });

  it('an invalid identifier is a no-read', () => {
    const e = engine();
    const outs = induct(e, 0);
    outs.push(
      e.handle(
        { type: 'barcode', deviceId: 's', atMono: 1000, code: 'RD223479073CN', valid: false },
        1000,
      ),
    );
    outs.push(
      e.handle(
        {
          type: 'ctVerdict',
          deviceId: 'ct',
          scannedAtMono: 2200,
          verdict: 'clear',
          scanId: 'S',
          imageId: null,
        },
        3000,
      ),
    );
    expect(decided(outs)[0]?.payload).toMatchObject({ lane: 'exception' });
  });

  it('matching window edges: a read just inside the window matches, just outside is unmatched', () => {
    // window for the scanner at 800 with tolerance 150 and length 400: lead edge in [650, 1350]
    const inside = engine();
    induct(inside, 0);
    const a = inside.handle(
      { type: 'barcode', deviceId: 's', atMono: 650, code: 'A', valid: true },
      650,
    );
    expect(a.events.map((x) => x.type)).toContain('parcel.identified');
    const b = inside.handle(
      { type: 'barcode', deviceId: 's', atMono: 1350, code: 'A', valid: true },
      1350,
    );
    expect(b.events.map((x) => x.type)).toContain('read.duplicate');

    const outside = engine();
    induct(outside, 0);
    const c = outside.handle(
      { type: 'barcode', deviceId: 's', atMono: 649, code: 'B', valid: true },
      649,
    );
    expect(c.events.map((x) => x.type)).toEqual(['read.unmatched']);
    const d = outside.handle(
      { type: 'barcode', deviceId: 's', atMono: 1351, code: 'B', valid: true },
      1351,
    );
    expect(d.events.map((x) => x.type)).toContain('read.unmatched');
  });

  it('two parcels on the belt: each read goes to the parcel in front of the scanner', () => {
    const e = engine();
    // events in time order: P1 at 0, P2 at 1000; reads at 1000 (P1 in front) and 2000 (P2)
    const outs = induct(e, 0);
    outs.push(
      e.handle({ type: 'photoEye', deviceId: 'pe-infeed', atMono: 1000, edge: 'leading' }, 1000),
    );
    outs.push(
      e.handle({ type: 'barcode', deviceId: 's', atMono: 1000, code: 'FIRST', valid: true }, 1000),
    );
    outs.push(
      e.handle({ type: 'photoEye', deviceId: 'pe-infeed', atMono: 1400, edge: 'trailing' }, 1400),
    );
    outs.push(
      e.handle({ type: 'barcode', deviceId: 's', atMono: 2000, code: 'SECOND', valid: true }, 2000),
    );
    const ids = outs.flatMap((o) => o.events).filter((x) => x.type === 'parcel.identified');
    expect(ids.map((x) => [x.parcelId, x.payload.code])).toEqual([
      ['P1', 'FIRST'],
      ['P2', 'SECOND'],
    ]);
  });
});
