import { describe, expect, it } from 'vitest';
import type { CtVerdict, ParcelIds } from '../../edge/engine/types.js';
import { toEnvelope } from '../../edge/events/model.js';
import { UuidV7Generator } from '../../edge/events/uuidv7.js';
import { ContractChecker } from '../support/contract.js';
import { Harness } from './helpers.js';

/** A remote inspector's CT decision (platform ct-decision command): stricter wins. */
function officer(
  h: Harness,
  at: number,
  verdict: CtVerdict,
  by: { parcelId?: string; waybill?: string; ids?: ParcelIds; reportId?: string | null },
) {
  h.in(
    {
      type: 'officerVerdict',
      atMono: at,
      parcelId: by.parcelId ?? null,
      waybill: by.waybill ?? null,
      verdict,
      officerId: 'officer-7',
      reportId: by.reportId === undefined ? 'R1' : by.reportId,
      ...(by.ids ? { ids: by.ids } : {}),
    },
    at,
  );
  return h.events('ct.officer_verdict').at(-1)!;
}

describe('officer verdicts', () => {
  it('an officer suspect after a machine clear revises a pass decision to inspection and withdraws the gate', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    h.verdict(2200, 'clear', 2500);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'pass' });
    const e = officer(h, 3000, 'suspect', { waybill: 'rd223479072cn' });
    expect(e).toMatchObject({ parcelId: 'P1', payload: { applied: true, officerId: 'officer-7' } });
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection' });
    expect(h.cancels()).toMatchObject([{ gateId: 'gate-pass', parcelId: 'P1' }]);
  });

  it('an officer clear of a parcel with no CT record is not applied: nothing binds it to a scan', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    const e = officer(h, 3000, 'clear', { parcelId: 'P1', reportId: 'S2200' });
    expect(e.payload).toMatchObject({ applied: false, evidence: 'no-record' });
    // no machine verdict and a clear that binds to nothing: the deadline sends it to inspection
    h.at(20_000);
    expect(h.decisions('P1').every((d) => d.lane !== 'pass')).toBe(true);
    expect(h.lastDecision('P1')).toMatchObject({ lane: 'inspection' });
  });

  it('an officer clear naming no scan, or another scan, is not applied', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    h.verdict(2200, 'unknown', 2500);
    expect(officer(h, 3000, 'clear', { parcelId: 'P1', reportId: null }).payload).toMatchObject({
      applied: false,
      evidence: 'missing',
    });
    const other = officer(h, 3100, 'clear', { parcelId: 'P1', reportId: 'S9999' });
    expect(other.payload).toMatchObject({
      applied: false,
      evidence: 'mismatch',
      reason: expect.stringMatching(/names 'S9999'.*scan 'S2200'/),
    });
    expect(h.decisions('P1').every((d) => d.lane === 'inspection')).toBe(true);
  });

  it('an officer clear never clears a machine suspect at the gateway, even bound to its scan', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    h.verdict(2200, 'suspect', 2500);
    const e = officer(h, 3000, 'clear', { parcelId: 'P1', reportId: 'S2200' });
    expect(e.payload).toMatchObject({
      applied: false,
      evidence: 'matched',
      reason: expect.stringMatching(/not cleared at the gateway/),
    });
    expect(h.decisions('P1').every((d) => d.lane === 'inspection')).toBe(true);
  });

  it('a decision for a parcel that is not on the line is recorded, not applied', () => {
    const h = new Harness();
    const e = officer(h, 100, 'suspect', { waybill: 'NOPE' });
    expect(e).toMatchObject({ parcelId: null, payload: { applied: false } });
  });

  it('names its parcel by the CT item id; never a parcel whose identifiers contradict it', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    h.in(
      {
        type: 'ctVerdict',
        deviceId: 'ct-1',
        scannedAtMono: 2200,
        verdict: 'clear',
        scanId: 'CT-7',
        imageId: null,
        ids: { ctItem: 'CT-7' },
      },
      2500,
    );
    expect(officer(h, 3000, 'suspect', { ids: { ctItem: 'ct-7' } })).toMatchObject({
      parcelId: 'P1',
      payload: { applied: true },
    });
    const refused = officer(h, 3100, 'clear', { parcelId: 'P1', waybill: 'RD000000005CN' });
    expect(refused.payload).toMatchObject({
      applied: false,
      reason: expect.stringMatching(/known by other identifiers/),
    });
    expect(h.events('alarm.ct-identifier-conflict')).toHaveLength(1);
  });
});

describe('officer verdict events on the wire', () => {
  it('every ct.officer_verdict (applied, refused, by waybill with identifiers) matches its schema in asyncapi.yaml', () => {
    const h = new Harness();
    h.induct(0);
    h.read(1000, 'RD223479072CN');
    h.verdict(2200, 'clear', 2500);
    officer(h, 3000, 'suspect', { waybill: 'rd223479072cn' });
    officer(h, 3100, 'clear', { ids: { waybill: 'RD223479072CN', ctItem: 'CT-9' } });
    officer(h, 3200, 'suspect', { waybill: 'RR100000017CN', reportId: null });
    const checker = new ContractChecker();
    const ids = new UuidV7Generator(() => Date.now());
    const events = h.events('ct.officer_verdict');
    expect(events.length).toBe(3);
    events.forEach((e, i) =>
      checker.check(
        JSON.parse(
          JSON.stringify(
            toEnvelope({
              schema: 1,
              id: ids.next(),
              seq: i + 1,
              gatewayId: 'gw-contract',
              type: e.type,
              parcelId: e.parcelId,
              monoMs: e.atMono,
              time: new Date().toISOString(),
              payload: e.payload,
            }),
          ),
        ),
      ),
    );
    expect(events.some((e) => 'ids' in e.payload)).toBe(true);
    expect(checker.report()).toBe('');
  });
});
