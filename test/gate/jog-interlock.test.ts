import { describe, expect, it } from 'vitest';
import {
  assertGateTestAllowed,
  assertJogAllowed,
  jogHoldMs,
  RUNNING_BELT_MAX_HOLD_MS,
  type JogLinkView,
  type LineForJog,
} from '../../edge/gate/jog-interlock.js';

/** The jog interlock as pure logic: what the link and the engine report in, allowed or why not. */

function link(over: Partial<JogLinkView> = {}): JogLinkView {
  const kinds: Record<string, string> = {
    'gate-pass': 'gate',
    pusher: 'gate',
    'light-red': 'lamp',
    beacon: 'beacon',
  };
  return {
    outputKind: (id: string) => kinds[id],
    // a pusher with a 40 ms pulse, a diverter held up to 60 s
    jogDefaultMs: (id: string) => ({ 'gate-pass': 60_000, pusher: 40 })[id],
    maintenance: false,
    estop: false,
    lineRunning: null,
    ...over,
  };
}

const stopped: LineForJog = { state: 'stopped', parcelsOnBelt: 0, beltClear: true };
const running: LineForJog = { state: 'running', parcelsOnBelt: 0, beltClear: true };
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return `${(err as { code: string }).code}: ${(err as Error).message}`;
  }
  return 'allowed';
};

describe('jog interlock', () => {
  it('a gate fires on a stopped line; refused on a running one outside maintenance', () => {
    expect(refusal(() => assertJogAllowed(link(), 'gate-pass', 'gate', stopped))).toBe('allowed');
    expect(refusal(() => assertJogAllowed(link(), 'gate-pass', 'gate', running))).toMatch(
      /^EDGE_GPIO_JOG_REFUSED: the line is running/,
    );
    expect(
      refusal(() => assertJogAllowed(link({ maintenance: true }), 'gate-pass', 'gate', running)),
    ).toBe('allowed');
  });

  it('every engine line state but stopped counts as a belt that may move (jam, estop)', () => {
    for (const state of ['jam', 'estop']) {
      const line = { ...stopped, state };
      expect(refusal(() => assertJogAllowed(link(), 'gate-pass', 'gate', line))).toMatch(
        new RegExp(`^EDGE_GPIO_JOG_REFUSED: the line is ${state}`),
      );
      // in maintenance, a jammed belt that still carries tracked parcels is not fired at
      const busy = { ...line, parcelsOnBelt: 1, beltClear: false };
      expect(
        refusal(() => assertJogAllowed(link({ maintenance: true }), 'gate-pass', 'gate', busy)),
      ).toMatch(/1 parcel\(s\) tracked/);
    }
    // the run input on counts too, whatever the engine says
    expect(
      refusal(() => assertJogAllowed(link({ lineRunning: true }), 'gate-pass', 'gate', stopped)),
    ).toMatch(/^EDGE_GPIO_JOG_REFUSED: the line is running/);
  });

  it('a gate is not fired while a tracked parcel has not passed it, stopped belt and maintenance too', () => {
    // the attack: line stopped, 14 parcels tracked, a gate test fired the pass gate
    const held: LineForJog = { ...stopped, parcelsOnBelt: 14, parcelsBeforeGate: 3 };
    for (const l of [link(), link({ maintenance: true })]) {
      expect(refusal(() => assertJogAllowed(l, 'gate-pass', 'gate', held))).toBe(
        'EDGE_GPIO_JOG_REFUSED: 3 parcel(s) tracked that have not passed gate-pass: firing it could divert one into its lane; run them off the belt first',
      );
      expect(refusal(() => assertGateTestAllowed(l, 'gate-pass', held))).toMatch(/have not passed/);
    }
    // parcels already past this gate cannot be diverted by it: a stopped belt allows the test
    expect(
      refusal(() =>
        assertJogAllowed(link(), 'gate-pass', 'gate', { ...held, parcelsBeforeGate: 0 }),
      ),
    ).toBe('allowed');
    // asked without naming the gate, every tracked parcel counts
    expect(
      refusal(() =>
        assertJogAllowed(link(), 'gate-pass', 'gate', { ...stopped, parcelsOnBelt: 1 }),
      ),
    ).toMatch(/1 parcel\(s\) tracked/);
    // releasing (to the safe state) stays allowed
    expect(refusal(() => assertJogAllowed(link(), 'gate-pass', 'gate', held, 'release'))).toBe(
      'allowed',
    );
  });

  it('without a line engine (mid-restart) no gate is fired, even in maintenance', () => {
    const none: LineForJog = { state: null, parcelsOnBelt: 0, beltClear: false };
    for (const l of [link(), link({ maintenance: true }), link({ lineRunning: false })]) {
      expect(refusal(() => assertJogAllowed(l, 'gate-pass', 'gate', none))).toMatch(
        /^EDGE_GPIO_JOG_REFUSED: the line engine is not running/,
      );
      expect(refusal(() => assertGateTestAllowed(l, 'gate-pass', none))).toMatch(
        /line engine is not running/,
      );
    }
  });

  it('in maintenance on a moving belt: refused until the belt has been clear a full transit', () => {
    const untracked: LineForJog = {
      state: 'running',
      parcelsOnBelt: 0,
      beltClear: false,
      clearNote: 'clear for 1200 of 9700 mm',
    };
    const m = link({ maintenance: true });
    expect(refusal(() => assertJogAllowed(m, 'gate-pass', 'gate', untracked))).toBe(
      'EDGE_GPIO_JOG_REFUSED: the belt may still carry parcels the engine does not track (clear for 1200 of 9700 mm): wait one full belt transit or stop the line',
    );
    expect(refusal(() => assertGateTestAllowed(m, 'gate-pass', untracked))).toMatch(
      /does not track/,
    );
    // the same belt, stopped: nothing moves, the gate may be tested
    expect(
      refusal(() => assertJogAllowed(m, 'gate-pass', 'gate', { ...untracked, state: 'stopped' })),
    ).toBe('allowed');
    expect(refusal(() => assertJogAllowed(m, 'gate-pass', 'gate', running))).toBe('allowed');
  });

  it('releasing a known gate is always allowed; an unknown output is still unknown', () => {
    const worst: LineForJog = { state: null, parcelsOnBelt: 3, beltClear: false };
    const l = link({ estop: true, lineRunning: true });
    expect(refusal(() => assertJogAllowed(l, 'gate-pass', 'gate', worst, 'release'))).toBe(
      'allowed',
    );
    expect(refusal(() => assertJogAllowed(l, 'gate-nope', 'gate', worst, 'release'))).toMatch(
      /^EDGE_GATE_UNKNOWN_OUTPUT/,
    );
    expect(refusal(() => assertJogAllowed(l, 'light-red', 'gate', worst, 'release'))).toMatch(
      /^EDGE_GATE_UNKNOWN_OUTPUT/,
    );
    expect(refusal(() => assertJogAllowed(null, 'gate-pass', 'gate', worst, 'release'))).toMatch(
      /^EDGE_GATE_CONTROLLER_DOWN/,
    );
  });

  it('lamps and the beacon keep their rule: refused only while the engine reports running', () => {
    const jam: LineForJog = { state: 'jam', parcelsOnBelt: 2, beltClear: false };
    const none: LineForJog = { state: null, parcelsOnBelt: 0, beltClear: false };
    for (const [id, kind] of [
      ['light-red', 'lamp'],
      ['beacon', 'beacon'],
    ] as const) {
      expect(refusal(() => assertJogAllowed(link(), id, kind, jam))).toBe('allowed');
      expect(refusal(() => assertJogAllowed(link(), id, kind, none))).toBe('allowed');
      expect(refusal(() => assertJogAllowed(link({ estop: true }), id, kind, stopped))).toBe(
        'allowed',
      );
      expect(refusal(() => assertJogAllowed(link(), id, kind, running))).toMatch(
        /the line is running/,
      );
      expect(
        refusal(() =>
          assertJogAllowed(link({ maintenance: true }), id, kind, { ...jam, state: 'running' }),
        ),
      ).toBe('allowed');
    }
  });

  it('a hand hold on a belt that may move is a short pulse; on a stopped line as asked', () => {
    const m = link({ maintenance: true });
    const g = 'gate-pass';
    expect(jogHoldMs(m, running, 10_000, g)).toBe(RUNNING_BELT_MAX_HOLD_MS);
    // without a hold asked: the gate's own hold (60 s) is cut, a pusher's 40 ms pulse stays
    expect(jogHoldMs(m, running, undefined, g)).toBe(RUNNING_BELT_MAX_HOLD_MS);
    expect(jogHoldMs(m, running, undefined, 'pusher')).toBe(40);
    expect(jogHoldMs(m, running, 40, g)).toBe(40);
    expect(jogHoldMs(m, { ...running, state: 'jam' }, 10_000, g)).toBe(RUNNING_BELT_MAX_HOLD_MS);
    expect(jogHoldMs(link({ lineRunning: true }), stopped, 2000, g)).toBe(RUNNING_BELT_MAX_HOLD_MS);
    expect(jogHoldMs(m, stopped, 10_000, g)).toBe(10_000);
    expect(jogHoldMs(m, stopped, undefined, g)).toBeUndefined();
  });
});
