import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Direction, Edge, Options } from 'onoff';
import { Debouncer } from '../../drivers/gpio/debounce.js';
import { createOnoffBinding, type OnoffGpioClass } from '../../drivers/gpio/onoff-binding.js';
import { SimulatedGpioBinding } from '../../drivers/gpio/simulated-binding.js';
import { FakeClock } from '../support/clocks.js';
import { BOARDS, fakeSysfs } from './fake-sysfs.js';

describe('debounce', () => {
  it('reports a settled edge with the time of its first transition; drops glitches', () => {
    const t = new FakeClock();
    const edges: [number, number][] = [];
    const d = new Debouncer(0, 5, t, (v, mono) => edges.push([v, mono]));
    t.advanceTo(100);
    d.sample(1, 100);
    t.advanceTo(102);
    d.sample(0, 102); // glitch: 2 ms
    t.advanceTo(200);
    expect(edges).toEqual([]);
    d.sample(1, 200);
    t.advanceTo(201);
    d.sample(0, 201.5); // bounce
    t.advanceTo(202);
    d.sample(1, 202); // bounce back: candidate restarts at 202
    t.advanceTo(210);
    expect(edges).toEqual([[1, 202]]);
    expect(d.value).toBe(1);
  });

  it('debounceMs 0 reports every change at once', () => {
    const t = new FakeClock();
    const edges: number[] = [];
    const d = new Debouncer(0, 0, t, (v) => edges.push(v));
    d.sample(1, 1);
    d.sample(1, 2);
    d.sample(0, 3);
    expect(edges).toEqual([1, 0]);
  });
});

describe('simulated binding', () => {
  it('records outputs with timestamps and raw levels; drives inputs through debounce', () => {
    const t = new FakeClock();
    const gpio = new SimulatedGpioBinding(t.monoMs, { timers: t });
    const seen: number[] = [];
    gpio.onWrite((w) => seen.push(w.value));
    const out = gpio.openOutput(17, { activeLow: true, initial: 0 });
    t.advanceTo(10);
    out.write(1);
    expect(gpio.writesTo(17)).toEqual([
      { pin: 17, value: 0, raw: 1, monoMs: 0 },
      { pin: 17, value: 1, raw: 0, monoMs: 10 },
    ]);
    expect(seen).toEqual([0, 1]);
    const edges: [number, number][] = [];
    const input = gpio.openInput(22, { activeLow: false, debounceMs: 3 }, (v, m) =>
      edges.push([v, m]),
    );
    gpio.setInput(22, 1, 11);
    t.advanceTo(20);
    expect(edges).toEqual([[1, 11]]);
    expect(input.read()).toBe(1);
    expect(() => gpio.openOutput(22, { activeLow: false, initial: 0 })).toThrow(/already open/);
    expect(() => gpio.setInput(17, 1)).toThrow(/not an open input/);
    out.close();
    expect(() => out.write(0)).toThrow(/closed/);
  });
});

/** onoff's Gpio replaced by a recorder: the binding's own logic without sysfs. */
class FakeGpio {
  static log: string[] = [];
  static failWith: string | null = null;
  static watchFails = false;
  static level = new Map<number, 0 | 1>();
  constructor(
    readonly n: number,
    direction: Direction,
    edge?: Edge,
    options?: Options,
  ) {
    if (FakeGpio.failWith)
      throw Object.assign(new Error(`${FakeGpio.failWith}: fake`), {
        code: FakeGpio.failWith,
        path: '/sys/class/gpio/export',
      });
    FakeGpio.log.push(`new ${n} ${direction} ${edge} activeLow=${options?.activeLow}`);
  }
  writeSync(v: 0 | 1) {
    FakeGpio.log.push(`write ${this.n} ${v}`);
  }
  readSync(): 0 | 1 {
    return FakeGpio.level.get(this.n) ?? 0;
  }
  watch() {
    if (FakeGpio.watchFails) throw new Error('EPERM: epoll_ctl');
  }
  unexport() {
    FakeGpio.log.push(`unexport ${this.n}`);
  }
}

describe('onoff binding (fake Gpio class)', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
    FakeGpio.log = [];
    FakeGpio.failWith = null;
    FakeGpio.watchFails = false;
    FakeGpio.level.clear();
  });
  const binding = async (chips = BOARDS.pi4, t = new FakeClock()) => {
    const root = fakeSysfs(chips);
    roots.push(root);
    const warnings: string[] = [];
    const b = await createOnoffBinding({
      timers: t,
      sysfsRoot: root,
      Gpio: FakeGpio as unknown as OnoffGpioClass,
      warn: (w) => warnings.push(w),
    });
    return { b, warnings, t };
  };

  it.each([
    ['Pi 4', BOARDS.pi4, 529],
    ['Pi 5', BOARDS.pi5, 588],
    ['old kernel', BOARDS.oldKernel, 17],
  ])('%s: BCM 17 is sysfs %d', async (_n, chips, n) => {
    const { b } = await binding(chips);
    b.openOutput(17, { activeLow: false, initial: 0 });
    expect(FakeGpio.log[0]).toBe(`new ${n} low none activeLow=false`);
  });

  it('active-low: the glitch-free direction write carries the raw level, then the logical value', async () => {
    const { b } = await binding();
    const out = b.openOutput(17, { activeLow: true, initial: 0 });
    out.write(1);
    out.close();
    expect(FakeGpio.log).toEqual([
      'new 529 high none activeLow=true',
      'write 529 0',
      'write 529 1',
      'unexport 529',
    ]);
  });

  it('refuses a pin opened twice and maps sysfs errors', async () => {
    const { b } = await binding();
    b.openOutput(17, { activeLow: false, initial: 0 });
    expect(() => b.openInput(17, { activeLow: false, debounceMs: 0 }, () => undefined)).toThrow(
      expect.objectContaining({ code: 'EDGE_GPIO_PIN_BUSY' }),
    );
    FakeGpio.failWith = 'EBUSY';
    expect(() => b.openOutput(4, { activeLow: false, initial: 0 })).toThrow(
      expect.objectContaining({
        code: 'EDGE_GPIO_PIN_BUSY',
        message: expect.stringMatching(/BCM 4 \(gpio516/),
      }),
    );
    FakeGpio.failWith = 'EACCES';
    expect(() => b.openOutput(5, { activeLow: false, initial: 0 })).toThrow(
      expect.objectContaining({ code: 'EDGE_GPIO_PERMISSION' }),
    );
    expect(() => b.openOutput(60, { activeLow: false, initial: 0 })).toThrow(
      expect.objectContaining({ code: 'EDGE_GPIO_PIN_INVALID' }),
    );
  });

  it('inputs: polled when epoll is refused, debounced, unexported on close', async () => {
    FakeGpio.watchFails = true;
    const { b, warnings, t } = await binding();
    const edges: [number, number][] = [];
    b.openInput(22, { activeLow: true, debounceMs: 4 }, (v, m) => edges.push([v, m]));
    expect(FakeGpio.log[0]).toBe('new 534 in both activeLow=true');
    expect(warnings[0]).toMatch(/polling every 2 ms/);
    t.advanceTo(10);
    FakeGpio.level.set(534, 1);
    t.advanceTo(30);
    expect(edges).toEqual([[1, 12]]);
    b.close();
    expect(FakeGpio.log.at(-1)).toBe('unexport 534');
    const pending = t.pending;
    t.advanceTo(100);
    expect(t.pending).toBe(pending);
    expect(edges).toHaveLength(1);
  });

  it('fails fast when sysfs GPIO is missing', async () => {
    await expect(
      createOnoffBinding({ timers: new FakeClock(), sysfsRoot: '/nonexistent/gpio' }),
    ).rejects.toMatchObject({ code: 'EDGE_GPIO_SYSFS_MISSING' });
  });
});
