import { beforeEach, describe, expect, it } from 'vitest';
import { SimulatedGpioBinding } from '../../drivers/gpio/simulated-binding.js';
import { GateScheduler } from '../../edge/gate/controller/gate-scheduler.js';
import type { ControllerSettings, FromController, OutputSpec } from '../../edge/gate/protocol.js';
import { FakeClock } from '../support/clocks.js';

/** The real-time core with an injected clock: pulse / hold semantics, safe state, heartbeats. */

const gate = (id: string, pin: number, extra: Partial<OutputSpec> = {}): OutputSpec => ({
  id,
  kind: 'gate',
  pin,
  activeLow: false,
  safeValue: 0,
  mode: 'pulse',
  pulseMs: 300,
  maxHoldMs: 5000,
  periodMs: 0,
  ...extra,
});
const lamp = (id: string, pin: number, extra: Partial<OutputSpec> = {}): OutputSpec => ({
  ...gate(id, pin),
  kind: 'lamp',
  mode: 'hold',
  ...extra,
});

const settings = (outputs: OutputSpec[]): ControllerSettings => ({
  binding: 'simulated',
  sysfsRoot: '/sys/class/gpio',
  outputs,
  inputs: [],
  heartbeatIntervalMs: 100,
  safeStateAfterMs: 500,
  spinBeforeMs: 2,
  maxLateMs: 20,
  nice: 0,
  reportWrites: false,
});

let timers: FakeClock;
let gpio: SimulatedGpioBinding;
let sent: FromController[];
const make = (outputs: OutputSpec[]) => {
  const s = new GateScheduler(gpio, settings(outputs), timers, (m) => sent.push(m));
  s.begin();
  s.heartbeat(); // the gateway's first heartbeat arms it
  return s;
};
const of = <T extends FromController['t']>(t: T) =>
  sent.filter((m): m is Extract<FromController, { t: T }> => m.t === t);
/** [time, value] of every write to a pin */
const trace = (pin: number) => gpio.writesTo(pin).map((w) => [w.monoMs, w.value]);

beforeEach(() => {
  timers = new FakeClock();
  timers.now = 1000;
  gpio = new SimulatedGpioBinding(timers.monoMs, { timers });
  sent = [];
});

describe('pulse', () => {
  it('opens every output at its safe value, fires at the scheduled time, releases after pulseMs', () => {
    const s = make([gate('g1', 17), gate('g2', 27, { safeValue: 1, activeLow: true })]);
    expect(gpio.outputValue(17)).toBe(0);
    expect(gpio.outputValue(27)).toBe(1);
    expect(gpio.writesTo(27)[0]?.raw).toBe(0); // active-low: logical 1 is a low wire
    s.fire(1, 'g1', 1100, 'p1');
    timers.advanceTo(1097);
    expect(gpio.outputValue(17)).toBe(0);
    timers.advanceTo(1500);
    expect(trace(17)).toEqual([
      [1000, 0],
      [1100, 1],
      [1400, 0],
    ]);
    const fired = of('fired')[0]!;
    expect(fired).toMatchObject({ id: 1, output: 'g1', parcelId: 'p1', scheduledMono: 1100 });
    expect(fired.actualMono - fired.scheduledMono).toBe(0);
    expect(of('released')[0]).toMatchObject({ output: 'g1', mono: 1400, reason: 'pulse end' });
  });

  it('a gate whose safe value is 1 fires to 0', () => {
    const s = make([gate('g', 5, { safeValue: 1 })]);
    s.fire(1, 'g', 1010, null);
    timers.advanceTo(1020);
    expect(gpio.outputValue(5)).toBe(0);
    timers.advanceTo(1400);
    expect(gpio.outputValue(5)).toBe(1);
  });

  it('fires in time order whatever the order of the commands; a re-fire extends the pulse', () => {
    const s = make([gate('g1', 17, { pulseMs: 100 }), gate('g2', 27)]);
    s.fire(1, 'g1', 1200, 'b');
    s.fire(2, 'g2', 1100, 'a');
    s.fire(3, 'g1', 1250, 'c');
    timers.advanceTo(2000);
    expect(of('fired').map((f) => f.parcelId)).toEqual(['a', 'b', 'c']);
    expect(trace(17)).toEqual([
      [1000, 0],
      [1200, 1],
      [1250, 1],
      [1350, 0],
    ]);
  });

  it('a jog hold time overrides the mode', () => {
    const s = make([gate('g', 17, { mode: 'hold' })]);
    s.fire(1, 'g', 1000, null, 50);
    timers.advanceTo(1100);
    expect(trace(17)).toEqual([
      [1000, 0],
      [1000, 1],
      [1050, 0],
    ]);
  });

  it('refuses a command later than maxLateMs (the parcel goes straight on) and unknown outputs', () => {
    const s = make([gate('g', 17), lamp('light-red', 5)]);
    s.fire(1, 'g', 970, 'p');
    s.fire(2, 'nope', 1100, 'p');
    s.fire(3, 'light-red', 1100, 'p');
    timers.advanceTo(2000);
    expect(of('failed').map((f) => f.id)).toEqual([1, 2, 3]);
    expect(of('failed')[0]?.error).toMatch(/30\.0 ms after its time/);
    expect(trace(17)).toEqual([[1000, 0]]);
  });

  it('a command slightly late fires at once and reports its lateness', () => {
    const s = make([gate('g', 17)]);
    s.fire(1, 'g', 990, 'p');
    timers.advanceTo(1001);
    expect(of('fired')[0]).toMatchObject({ scheduledMono: 990, actualMono: 1000 });
  });

  it('cancel withdraws a command before it fires', () => {
    const s = make([gate('g', 17)]);
    s.fire(1, 'g', 1100, 'a');
    s.fire(2, 'g', 1200, 'b');
    expect(s.cancel(1)).toBe(true);
    expect(s.cancel(1)).toBe(false);
    timers.advanceTo(2000);
    expect(of('cancelled')).toEqual([{ t: 'cancelled', id: 1 }]);
    expect(of('fired').map((f) => f.id)).toEqual([2]);
  });
});

describe('hold', () => {
  it('hold: active until released, at most maxHoldMs', () => {
    const s = make([gate('g', 17, { mode: 'hold', maxHoldMs: 1000 })]);
    s.fire(1, 'g', 1100, null);
    timers.advanceTo(1500);
    expect(gpio.outputValue(17)).toBe(1);
    s.release('g', 'test');
    expect(gpio.outputValue(17)).toBe(0);
    s.fire(2, 'g', 1600, null);
    timers.advanceTo(3000);
    expect(trace(17)).toEqual([
      [1000, 0],
      [1100, 1],
      [1500, 0],
      [1600, 1],
      [2600, 0],
    ]);
    expect(of('released').map((r) => r.reason)).toEqual(['test', 'held for maxHoldMs 1000']);
  });

  it('hold-while-present: released when the presence photo-eye clears, one parcel per fire', () => {
    const s = make([gate('g', 17, { mode: 'hold-while-present', presenceInput: 'pe-g' })]);
    s.fire(1, 'g', 1100, 'a');
    s.fire(2, 'g', 1300, 'b');
    timers.advanceTo(1200);
    s.onInput('pe-g', 'photoEye', 1); // parcel a arrives
    timers.advanceTo(1350);
    s.onInput('pe-g', 'photoEye', 0); // a leaves: b still expected
    expect(gpio.outputValue(17)).toBe(1);
    timers.advanceTo(1400);
    s.onInput('pe-g', 'photoEye', 1);
    timers.advanceTo(1500);
    s.onInput('pe-g', 'photoEye', 0); // b leaves
    expect(trace(17)).toEqual([
      [1000, 0],
      [1100, 1],
      [1300, 1],
      [1500, 0],
    ]);
    expect(of('released')[0]?.reason).toBe('parcel left pe-g');
  });

  it('hold-while-present: released after maxHoldMs when the parcel never clears the eye', () => {
    const s = make([
      gate('g', 17, { mode: 'hold-while-present', presenceInput: 'pe-g', maxHoldMs: 800 }),
    ]);
    s.fire(1, 'g', 1100, 'a');
    s.onInput('pe-g', 'photoEye', 1);
    timers.advanceTo(5000);
    expect(trace(17)).toEqual([
      [1000, 0],
      [1100, 1],
      [1900, 0],
    ]);
  });
});

describe('safe state', () => {
  it('on stop: every output to its safe value, schedule dropped, pins released', () => {
    const s = make([
      gate('g1', 17, { mode: 'hold' }),
      gate('g2', 27),
      lamp('light-blue', 5, { safeValue: 1 }),
    ]);
    s.set('light-blue', 0);
    s.fire(1, 'g1', 1010, 'a');
    s.fire(2, 'g2', 1500, 'b');
    timers.advanceTo(1100);
    expect(gpio.outputValue(17)).toBe(1);
    s.close();
    expect(gpio.writesTo(17).at(-1)).toEqual({ pin: 17, value: 0, raw: 0, monoMs: 1100 });
    expect(gpio.writesTo(5).at(-1)?.value).toBe(1);
    expect(of('failed')).toMatchObject([{ id: 2, error: 'safe state: shutdown' }]);
    expect(gpio.openPins).toEqual([]);
    timers.advanceTo(5000);
    expect(of('fired')).toHaveLength(1);
  });

  it('no heartbeat for safeStateAfterMs: safe, commands refused; heartbeats re-arm', () => {
    const s = make([gate('g', 17, { mode: 'hold' })]);
    s.fire(1, 'g', 1100, 'a');
    s.fire(2, 'g', 1700, 'b');
    timers.advanceTo(1200);
    expect(gpio.outputValue(17)).toBe(1);
    timers.advanceTo(1400);
    s.checkHeartbeat();
    expect(s.currentState).toBe('armed');
    timers.advanceTo(1501);
    s.checkHeartbeat();
    expect(s.currentState).toBe('safe');
    expect(gpio.outputValue(17)).toBe(0);
    expect(of('failed')).toMatchObject([{ id: 2 }]);
    expect(of('state').at(-1)).toMatchObject({ state: 'safe', reasons: ['heartbeat'] });
    s.fire(3, 'g', 1800, 'c');
    expect(of('failed').at(-1)).toMatchObject({ id: 3 });
    s.heartbeat();
    expect(s.currentState).toBe('armed');
    s.fire(4, 'g', 1900, 'd');
    timers.advanceTo(1950);
    expect(gpio.outputValue(17)).toBe(1);
  });

  it('arms on the first heartbeat after start: a gateway still starting is not judged silent', () => {
    const s = new GateScheduler(gpio, settings([gate('g', 17)]), timers, (m) => sent.push(m));
    s.begin();
    expect(s.currentState).toBe('starting');
    // the gateway takes 5 s to start (a loaded machine): no safe state, commands refused
    timers.advanceTo(6000);
    s.checkHeartbeat();
    expect(s.currentState).toBe('starting');
    expect(of('state')).toEqual([]);
    s.fire(1, 'g', 6100, 'early');
    expect(of('failed')).toMatchObject([
      { id: 1, error: expect.stringMatching(/first heartbeat from the gateway/) },
    ]);
    expect(gpio.outputValue(17)).toBe(0);
    s.heartbeat();
    expect(s.currentState).toBe('armed');
    expect(of('state')).toMatchObject([
      { state: 'armed', reason: 'first heartbeat from the gateway' },
    ]);
    s.fire(2, 'g', 6200, 'armed');
    timers.advanceTo(6250);
    expect(of('fired')).toMatchObject([{ id: 2 }]);
    // from now on silence counts
    timers.advanceTo(6200 + 501);
    s.checkHeartbeat();
    expect(s.currentState).toBe('safe');
  });

  it('E-stop at start: safe before the first heartbeat, and still safe after it', () => {
    const s = new GateScheduler(gpio, settings([gate('g', 17)]), timers, (m) => sent.push(m));
    s.onInput('estop', 'estop', 1);
    s.begin();
    expect(s.currentState).toBe('safe');
    s.heartbeat();
    expect(s.currentState).toBe('safe');
    s.onInput('estop', 'estop', 0);
    expect(s.currentState).toBe('armed');
  });

  it('E-stop goes safe in the controller itself and stays safe until released', () => {
    const s = make([gate('g', 17)]);
    s.onInput('estop', 'estop', 1);
    s.heartbeat();
    expect(s.currentState).toBe('safe');
    s.onInput('estop', 'estop', 0);
    expect(s.currentState).toBe('armed');
  });

  it('lamps: requests while armed; safe value (plus live requests) when safe; gateway gone -> safe values only', () => {
    const s = make([lamp('light-red', 5), lamp('light-blue', 6, { safeValue: 1 })]);
    expect(gpio.outputValue(6)).toBe(0); // armed: blue follows the (empty) request
    s.set('light-red', 1);
    expect(gpio.outputValue(5)).toBe(1);
    s.onInput('estop', 'estop', 1);
    expect([gpio.outputValue(5), gpio.outputValue(6)]).toEqual([1, 1]);
    timers.advanceTo(2000);
    s.checkHeartbeat();
    expect([gpio.outputValue(5), gpio.outputValue(6)]).toEqual([0, 1]);
  });

  it('the watchdog output toggles only while armed; the beacon flashes', () => {
    const s = make([
      { ...lamp('watchdog', 9), kind: 'watchdog', periodMs: 50 },
      { ...lamp('beacon', 10), kind: 'beacon', periodMs: 100 },
    ]);
    s.set('beacon', 1);
    timers.advanceTo(1300);
    expect(gpio.writesTo(9).length).toBeGreaterThanOrEqual(6);
    expect(gpio.writesTo(10).map((w) => w.value)).toEqual([0, 1, 0, 1, 0]);
    s.goSafe('commanded', 'test');
    const n = gpio.writesTo(9).length;
    timers.advanceTo(2000);
    expect(gpio.writesTo(9).length).toBe(n);
    expect(gpio.outputValue(9)).toBe(0);
    s.clearSafe('commanded', 'test over');
    timers.advanceTo(2200);
    expect(gpio.writesTo(9).length).toBeGreaterThan(n + 2);
  });
});
