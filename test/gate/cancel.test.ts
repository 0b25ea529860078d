import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { GateLink, type GateFired } from '../../edge/gate/gate-link.js';
import { waitFor } from '../support/wait.js';
import { gatesConfig } from './gates-config.js';

/**
 * Withdrawing gate commands on a real forked controller (simulated binding): a cancel matches
 * every pending command for the parcel on the gate, whatever time the engine now estimates.
 */

const log = pino({ level: 'silent' });
let link: GateLink | null = null;

afterEach(async () => {
  await link?.stop();
  link = null;
});

async function started(): Promise<{ l: GateLink; fired: GateFired[] }> {
  link = new GateLink(
    'gates',
    gatesConfig({
      heartbeatIntervalMs: 50,
      safeStateAfterMs: 400,
      outputs: [
        { id: 'gate-pass', pin: 17, pulseMs: 20 },
        { id: 'gate-exception', pin: 27, pulseMs: 20 },
        { id: 'gate-spare', pin: 22, pulseMs: 20 },
      ],
    }),
    { log, clock: systemClock },
    { reportWrites: true },
  );
  link.handFireGuard = () => null; // no line engine here: nothing tracked at the gates
  const fired: GateFired[] = [];
  link.on('fired', (f) => fired.push(f));
  await link.start();
  await waitFor(() => link?.gateState === 'armed', { timeoutMs: 10_000, what: 'armed' });
  return { l: link, fired };
}

/** A jog answered after `atMono` proves the controller handled every earlier message by then. */
async function pastAndSettled(l: GateLink, atMono: number): Promise<void> {
  await waitFor(() => systemClock.monoMs() > atMono + 100, {
    timeoutMs: 10_000,
    what: 'past the fire times',
  });
  await l.jogFire('gate-spare', 10);
}

describe('GateLink.cancel', () => {
  it('withdraws a command whose time the engine has since re-estimated (within tolerance)', async () => {
    const { l, fired } = await started();
    const at = systemClock.monoMs() + 400;
    l.schedule({ gateId: 'gate-pass', parcelId: 'P1', lane: 'pass', fireAtMono: at });
    // the engine's estimate moved by 0.5 ms after a speed change; the cancel carries that
    expect(
      l.cancel({ gateId: 'gate-pass', parcelId: 'P1', fireAtMono: at + 0.5, reason: 'targeting' }),
    ).toBe(true);
    await pastAndSettled(l, at);
    expect(fired.filter((f) => f.parcelId === 'P1')).toEqual([]);
    expect(l.health().details).toMatchObject({ pendingCommands: 0 });
  });

  it('withdraws every pending command for the parcel on that gate, and nothing else', async () => {
    const { l, fired } = await started();
    const at = systemClock.monoMs() + 400;
    l.schedule({ gateId: 'gate-pass', parcelId: 'P1', lane: 'pass', fireAtMono: at });
    l.schedule({ gateId: 'gate-pass', parcelId: 'P1', lane: 'pass', fireAtMono: at + 60 });
    l.schedule({ gateId: 'gate-pass', parcelId: 'P2', lane: 'pass', fireAtMono: at + 120 });
    l.schedule({
      gateId: 'gate-exception',
      parcelId: 'P1',
      lane: 'exception',
      fireAtMono: at + 30,
    });
    expect(l.cancel({ gateId: 'gate-pass', parcelId: 'P1', fireAtMono: at, reason: 'stop' })).toBe(
      true,
    );
    await pastAndSettled(l, at + 120);
    expect(fired.map((f) => [f.gateId, f.parcelId]).sort()).toEqual([
      ['gate-exception', 'P1'],
      ['gate-pass', 'P2'],
      ['gate-spare', null],
    ]);
  });

  it('a retime (cancel, then the re-sent command) fires the new command; a cancel of nothing says so', async () => {
    const { l, fired } = await started();
    const at = systemClock.monoMs() + 300;
    l.schedule({ gateId: 'gate-pass', parcelId: 'P1', lane: 'pass', fireAtMono: at });
    expect(
      l.cancel({ gateId: 'gate-pass', parcelId: 'P1', fireAtMono: at, reason: 'speed changed' }),
    ).toBe(true);
    l.schedule({ gateId: 'gate-pass', parcelId: 'P1', lane: 'pass', fireAtMono: at + 100 });
    await waitFor(() => fired.some((f) => f.parcelId === 'P1'), {
      timeoutMs: 10_000,
      what: 'the re-sent command fired',
    });
    const p1 = fired.filter((f) => f.parcelId === 'P1');
    expect(p1).toHaveLength(1);
    expect(p1[0]?.scheduledMono).toBeCloseTo(at + 100, 3);
    // fired: nothing pending any more, and the caller learns it
    expect(
      l.cancel({ gateId: 'gate-pass', parcelId: 'P1', fireAtMono: at + 100, reason: 'late' }),
    ).toBe(false);
    expect(
      l.cancel({ gateId: 'gate-pass', parcelId: 'P7', fireAtMono: at, reason: 'never sent' }),
    ).toBe(false);
  });
});
