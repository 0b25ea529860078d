import { describe, expect, it } from 'vitest';
import { Harness, lineConfig } from './helpers.js';

/**
 * LineEngine.beltClearance: whether the belt can still carry a parcel, tracked or not. Skeleton
 * geometry: 1000 mm/s, last lane at 9000 mm, parcels 400 mm, confirm window 300 mm, so one full
 * transit is 9700 mm = 9.7 s.
 */

const TRANSIT = 9700;

function clearPass(h: Harness, at: number, code = 'RD223479072CN'): void {
  h.induct(at);
  h.read(at + 1000, code);
  h.verdict(at + 2200, 'clear', at + 2500);
}

describe('belt clearance', () => {
  it('the engine start counts as occupied: clear after one full transit, not before', () => {
    const h = new Harness();
    expect(h.engine.beltClearance(0)).toEqual({
      parcels: 0,
      clearSinceMono: 0,
      travelledMm: 0,
      transitMm: TRANSIT,
      transitMs: TRANSIT,
      clear: false,
    });
    expect(h.engine.beltClearance(TRANSIT - 1).clear).toBe(false);
    expect(h.engine.beltClearance(TRANSIT)).toMatchObject({ travelledMm: TRANSIT, clear: true });
  });

  it('a restore (gateway restart) counts as occupied again, snapshot or not', () => {
    const h = new Harness();
    expect(h.engine.beltClearance(20_000).clear).toBe(true);
    h.engine.restore(
      {
        lineId: 'line-1',
        takenAtMono: 0,
        parcels: [{ id: 'X', code: null, lane: 'pass', ruleId: null }],
      },
      20_000,
    );
    expect(h.engine.trackedCount()).toBe(0);
    expect(h.engine.beltClearance(20_000 + TRANSIT - 1)).toMatchObject({
      parcels: 0,
      clearSinceMono: 20_000,
      clear: false,
    });
    expect(h.engine.beltClearance(20_000 + TRANSIT).clear).toBe(true);
    h.engine.restore(null, 40_000);
    expect(h.engine.beltClearance(40_000 + TRANSIT - 1).clear).toBe(false);
  });

  it('a tracked parcel occupies the belt until it is gone, then a full transit more', () => {
    const h = new Harness();
    clearPass(h, 20_000);
    expect(h.engine.beltClearance(20_500)).toMatchObject({
      parcels: 1,
      clearSinceMono: null,
      clear: false,
    });
    h.at(20_000 + 9700); // the parcel's exit: forgotten
    expect(h.engine.trackedCount()).toBe(0);
    const gone = 29_700;
    expect(h.engine.beltClearance(gone)).toMatchObject({ clearSinceMono: gone, clear: false });
    expect(h.engine.beltClearance(gone + TRANSIT - 1).clear).toBe(false);
    expect(h.engine.beltClearance(gone + TRANSIT).clear).toBe(true);
  });

  it('counts belt travel: a stopped line does not clear the belt, a slow one clears it later', () => {
    const h = new Harness();
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 1000, state: 'stopped' }, 1000);
    expect(h.engine.beltClearance(120_000)).toMatchObject({ travelledMm: 1000, clear: false });
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 120_000, state: 'running' }, 120_000);
    h.in({ type: 'beltSpeed', deviceId: 'drive', atMono: 120_000, mmPerS: 500 }, 120_000);
    expect(h.engine.beltClearance(120_000 + 2 * (TRANSIT - 1000) - 2).clear).toBe(false);
    expect(h.engine.beltClearance(120_000 + 2 * (TRANSIT - 1000)).clear).toBe(true);
  });

  it('a belt faster than its configured maximum still waits one transit at the maximum', () => {
    const h = new Harness(lineConfig({ tracking: { mode: 'time', maxSpeedMmPerS: 1000 } }));
    h.in({ type: 'beltSpeed', deviceId: 'drive', atMono: 0, mmPerS: 2000 }, 0);
    expect(h.engine.beltClearance(TRANSIT / 2)).toMatchObject({
      travelledMm: TRANSIT,
      clear: false,
    });
    expect(h.engine.beltClearance(TRANSIT).clear).toBe(true);
  });

  it('a jam leaves the belt occupied while its parcels are tracked', () => {
    const h = new Harness(lineConfig({ jamTimeoutMs: 3000 }));
    h.at(TRANSIT);
    expect(h.engine.beltClearance(TRANSIT).clear).toBe(true);
    // the photo-eye stays blocked: a parcel is tracked, then the engine declares a jam
    h.in({ type: 'photoEye', deviceId: 'pe-infeed', atMono: 10_000, edge: 'leading' }, 10_000);
    h.at(13_000);
    expect(h.engine.state.line).toBe('jam');
    expect(h.engine.beltClearance(60_000)).toMatchObject({ parcels: 1, clear: false });
  });
});
