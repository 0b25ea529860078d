import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { LineConfig } from '../../config/schema.js';
import { ManualClock } from '../support/clocks.js';
import { engineConfigFrom } from '../../config/engine-config.js';
import { EngineRunner } from '../../edge/engine/engine-runner.js';
import type { EngineConfig, GateCancel, GateCommand } from '../../edge/engine/types.js';
import type { EventDraft } from '../../edge/events/model.js';
import { TargetingList } from '../../edge/targeting/targeting-list.js';
import { Harness, lineConfig } from './helpers.js';

/**
 * Withdrawing a decision must reach the gate: a cancel names the command actually sent (not the
 * engine's moving estimate), and a PLC hand-off stays revocable until the belt got the parcel to
 * its diverter (a stop or slow-down moves that moment).
 */

const CODE = 'RD223479072CN';
const hitList = () => new TargetingList('v2', [{ id: 't1', match: 'exact', pattern: CODE }]);

function clearPass(h: Harness, at = 0): void {
  h.induct(at);
  h.read(at + 1000, CODE);
  h.verdict(at + 2200, 'clear', at + 2500);
}

const speed = (h: Harness, at: number, mmPerS: number) =>
  h.in({ type: 'beltSpeed', deviceId: 'drive', atMono: at, mmPerS }, at);

describe('GPIO: a cancel names the command that was sent', () => {
  it('a speed change within tolerance, then a targeting hit: the cancel carries the sent time', () => {
    const h = new Harness();
    clearPass(h);
    expect(h.gateCommands()).toEqual([
      { gateId: 'gate-pass', parcelId: 'P1', lane: 'pass', fireAtMono: 7950 },
    ]);
    // 1000 -> 999.9 mm/s at 3000: the estimate moves by 0.5 ms (under the 2 ms tolerance)
    speed(h, 3000, 999.9);
    expect(h.cancels()).toEqual([]);
    expect(h.gateCommands()).toHaveLength(1);
    const out = h.engine.setTargeting(hitList(), 4000);
    h.outs.push(out);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'targeting' });
    expect(h.cancels()).toEqual([
      { gateId: 'gate-pass', parcelId: 'P1', fireAtMono: 7950, reason: expect.any(String) },
    ]);
    expect(h.gateCommands()).toHaveLength(1);
    expect(h.events('alarm.escaped')).toEqual([]);
  });

  it('small speed changes add up: once the estimate is off the sent time by more than the tolerance, the command is re-sent', () => {
    const h = new Harness();
    clearPass(h);
    // each step moves the estimate by about 0.5 ms; compared with the last estimate none
    // would exceed 2 ms, compared with the sent time the fifth one does
    let mmPerS = 1000;
    for (let i = 0; i < 8; i++) speed(h, 3000 + i * 10, (mmPerS -= 0.1));
    const cancels = h.cancels();
    expect(cancels.length).toBeGreaterThanOrEqual(1);
    expect(cancels[0]).toMatchObject({ gateId: 'gate-pass', parcelId: 'P1', fireAtMono: 7950 });
    // every cancel names the command sent just before it
    const commands = h.gateCommands();
    expect(commands).toHaveLength(cancels.length + 1);
    cancels.forEach((c, i) => expect(c.fireAtMono).toBe(commands[i]?.fireAtMono));
    // and the live command is within tolerance of where the belt puts the parcel now
    const expected = 3070 + (8000 - 3070 - 0.7) / (mmPerS / 1000) - 50;
    expect(Math.abs((commands.at(-1)?.fireAtMono ?? 0) - expected)).toBeLessThanOrEqual(2);
  });

  it('a withdrawn re-sent command is cancelled by its own time', () => {
    const h = new Harness();
    clearPass(h);
    speed(h, 3000, 500); // moved far: withdrawn (7950) and re-sent (12950)
    expect(h.gateCommands().at(-1)).toMatchObject({ fireAtMono: 12_950 });
    speed(h, 4000, 499.95); // under tolerance: no re-send
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 5000, state: 'estop' }, 5000);
    expect(h.cancels().map((c) => c.fireAtMono)).toEqual([7950, 12_950]);
  });
});

describe('PLC hand-off: a decision stays revocable until the belt gets there', () => {
  const plcLine = (over: Partial<EngineConfig> = {}) =>
    new Harness(
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
        ...over,
      }),
    );

  it('line stopped, then a targeting hit after the old divert time: revoked, no escape alarm', () => {
    const h = plcLine();
    clearPass(h);
    expect(h.plc()).toMatchObject([{ action: 'divert', parcelId: 'P1', atDiverterMono: 7950 }]);
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 3000, state: 'stopped' }, 3000);
    expect(h.engine.nextWakeMono()).toBeNull();
    h.at(9000); // past the decision-time estimate, but the belt has not moved
    h.outs.push(h.engine.setTargeting(hitList(), 9500));
    expect(h.events('alarm.escaped')).toEqual([]);
    expect(h.plc().at(-1)).toMatchObject({ action: 'revoke', parcelId: 'P1', plcId: 'sorter' });
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'targeting' });
  });

  it('a slow-down moves the divert time: revoked before it, escape alarm only once the belt got there', () => {
    const h = plcLine();
    clearPass(h);
    speed(h, 3000, 500); // 5000 mm to go at 0.5 mm/ms: diverter at 13000, fire 12950
    expect(h.plc()).toHaveLength(1); // not re-sent: the PLC tracks the parcel itself
    h.at(10_000);
    h.outs.push(h.engine.setTargeting(hitList(), 10_000));
    expect(h.plc().at(-1)).toMatchObject({ action: 'revoke', atDiverterMono: 12_950 });
    expect(h.events('alarm.escaped')).toEqual([]);

    // a second parcel, same slow belt: once the belt got it past its diverter, it is done
    const g = plcLine();
    clearPass(g);
    g.in({ type: 'lineState', deviceId: 'plc', atMono: 3000, state: 'stopped' }, 3000);
    g.in({ type: 'lineState', deviceId: 'plc', atMono: 10_000, state: 'running' }, 10_000);
    expect(g.engine.nextWakeMono()).toBe(14_950);
    g.at(15_000);
    g.outs.push(g.engine.setTargeting(hitList(), 15_000));
    expect(g.events('alarm.escaped')).toHaveLength(1);
    expect(g.plc().filter((c) => c.action === 'revoke')).toEqual([]);
  });

  it('tracking lost after a stop (E-stop) still revokes a PLC decision past its old time', () => {
    const h = plcLine();
    clearPass(h);
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 3000, state: 'stopped' }, 3000);
    h.at(9000);
    h.in({ type: 'lineState', deviceId: 'plc', atMono: 9100, state: 'estop' }, 9100);
    expect(h.plc().at(-1)).toMatchObject({ action: 'revoke', parcelId: 'P1' });
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection', ruleId: 'tracking' });
  });
});

describe('engine runner: cancels and commands reach the gate link in a safe order', () => {
  const line: LineConfig = {
    id: 'line-1',
    beltSpeedMmPerS: 1000,
    inductionPhotoEye: 'pe-infeed',
    defaultParcelLengthMm: 400,
    scanner: { positionMm: 800, toleranceMm: 150 },
    ct: { positionMm: 2000, toleranceMm: 200 },
    decision: { actuationLeadMs: 50, marginMs: 300 },
    tracking: { mode: 'time' },
    lanes: {
      exception: { gate: 'gate-exception', positionMm: 7000 },
      pass: { gate: 'gate-pass', positionMm: 8000 },
      inspection: { positionMm: 9000 },
    },
  } as unknown as LineConfig;

  const runners: EngineRunner[] = [];
  afterEach(() => {
    for (const r of runners.splice(0)) r.stop();
  });

  /** A gate link as GateLink behaves: pending commands, a cancel matches gate + parcel. */
  function setup() {
    const clock = new ManualClock();
    const pending: GateCommand[] = [];
    const fired: GateCommand[] = [];
    const events: EventDraft[] = [];
    const runner = new EngineRunner({
      engine: engineConfigFrom(line),
      lineId: line.id,
      clock,
      log: pino({ level: 'silent' }),
      newParcelId: (() => {
        let n = 0;
        return () => `P${++n}`;
      })(),
      sendGateCommand: (c) => void pending.push(c),
      cancelGateCommand: (c: GateCancel) => {
        let matched = false;
        for (let i = pending.length - 1; i >= 0; i--) {
          const p = pending[i]!;
          if (p.gateId === c.gateId && p.parcelId === c.parcelId) {
            pending.splice(i, 1);
            matched = true;
          }
        }
        return matched;
      },
      recordEvents: (e) => events.push(...e),
    });
    runners.push(runner);
    const at = (t: number, signal: Parameters<EngineRunner['handle']>[0]) => {
      clock.set(t);
      runner.handle(signal);
    };
    const decidePass = () => {
      at(0, { type: 'photoEye', deviceId: 'pe-infeed', atMono: 0, edge: 'leading' });
      at(400, { type: 'photoEye', deviceId: 'pe-infeed', atMono: 400, edge: 'trailing' });
      at(1000, { type: 'barcode', deviceId: 'scan', atMono: 1000, code: CODE, valid: true });
      at(2500, {
        type: 'ctVerdict',
        deviceId: 'ct',
        scannedAtMono: 2200,
        verdict: 'clear',
        scanId: 'S1',
        imageId: null,
      });
    };
    return { clock, runner, pending, fired, events, at, decidePass };
  }

  it('a retime (withdraw + re-send in one output) leaves exactly the new command pending', () => {
    const s = setup();
    s.decidePass();
    expect(s.pending).toMatchObject([{ parcelId: 'P1', fireAtMono: 7950 }]);
    s.at(3000, { type: 'beltSpeed', deviceId: 'drive', atMono: 3000, mmPerS: 500 });
    expect(s.pending).toMatchObject([{ parcelId: 'P1', fireAtMono: 12_950 }]);
    expect(s.events.filter((e) => e.type === 'gate.cancel_unmatched')).toEqual([]);
  });

  it('a cancel that matches nothing the engine believed pending is recorded', () => {
    const s = setup();
    s.decidePass();
    s.pending.length = 0; // e.g. the controller restarted and dropped it
    s.at(3000, { type: 'lineState', deviceId: 'plc', atMono: 3000, state: 'stopped' });
    expect(s.events.filter((e) => e.type === 'gate.cancel_unmatched')).toMatchObject([
      {
        parcelId: 'P1',
        payload: { gateId: 'gate-pass', parcelId: 'P1', fireAtMono: 7950, reason: 'line stopped' },
      },
    ]);
  });
});
