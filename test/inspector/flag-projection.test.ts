import { describe, expect, it } from 'vitest';
import type { EdgeEvent } from '../../edge/events/model.js';
import { FlagProjection, type ProjectionSource } from '../../edge/inspector/flag-projection.js';
import { imageLinkIssue, imageUrl } from '../../edge/inspector/image-link.js';
import { csvCell } from '../../edge/inspector/shift-report.js';
import { seqRuns } from '../../edge/inspector/story.js';

/** From the event stream to queue entries: pure logic, events built by hand. */
const none: ProjectionSource = { context: () => null, flag: () => null, decision: () => null };

let seq = 0;
function ev(
  type: string,
  parcelId: string | null,
  payload: Record<string, unknown> = {},
): EdgeEvent {
  seq++;
  return {
    schema: 1,
    id: `id-${seq}`,
    seq,
    stream: 'events',
    gatewayId: 'gw',
    type,
    parcelId,
    monoMs: seq,
    time: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
    payload,
  };
}

const decided = (pid: string, lane: string, ruleId: string, extra: Record<string, unknown> = {}) =>
  ev('parcel.decided', pid, { lane, outlet: lane, ruleId, reason: `rule ${ruleId}`, ...extra });

function projection() {
  return new FlagProjection(none, new Set(['ct-suspect', 'targeting', 'escaped']));
}

describe('flag projection', () => {
  it('a parcel sent to inspection becomes an entry with its context; a pass parcel does not', () => {
    const p = projection();
    const inducted = ev('parcel.inducted', 'A');
    const ch = p.apply([
      inducted,
      ev('parcel.identified', 'A', { code: 'RD223479072CN' }),
      ev('ct.verdict', 'A', { verdict: 'suspect', scanId: 'S1', imageId: 'I1', confidence: 0.93 }),
      decided('A', 'inspection', 'ct-suspect', { code: 'RD223479072CN', verdict: 'suspect' }),
      ev('parcel.inducted', 'B'),
      ev('ct.verdict', 'B', { verdict: 'clear', scanId: 'S2', imageId: 'I2' }),
      decided('B', 'pass', 'clear'),
      ev('telemetry', null, {}),
    ]);
    expect(p.flag('A')).toMatchObject({
      waybill: 'RD223479072CN',
      verdict: 'suspect',
      confidence: 0.93,
      imageId: 'I1',
      scanId: 'S1',
      reasons: ['ct-suspect'],
      alert: true,
      status: 'open',
      inductedAt: inducted.time,
      flaggedSeq: inducted.seq + 3,
    });
    expect(p.flag('B')).toBeNull();
    expect(ch.alerts.map((f) => f.parcelId)).toEqual(['A']);
    expect(ch.contexts.get('B')?.seqs).toHaveLength(3);
    expect(ch.lastSeq).toBe(seq);
  });

  it('reasons from the rule and the facts: device lost, late verdict, targeting, unknown', () => {
    const p = projection();
    p.apply([
      ev('parcel.inducted', 'D'),
      decided('D', 'inspection', 'device-lost'),
      ev('parcel.inducted', 'L'),
      decided('L', 'inspection', 'ct-verdict-timeout'),
    ]);
    expect(p.flag('D')).toMatchObject({ reasons: ['device-lost'], alert: false });
    expect(p.flag('L')).toMatchObject({ reasons: ['verdict-missing'], alert: false });
    // the verdict arrives after the decision: late, and suspect raises the alert now
    const ch = p.apply([
      ev('ct.verdict', 'L', { verdict: 'suspect', afterDecision: true, imageId: 'I9' }),
    ]);
    expect(p.flag('L')).toMatchObject({
      reasons: ['verdict-missing', 'verdict-late', 'ct-suspect'],
      verdictLate: true,
      verdict: 'suspect',
      imageId: 'I9',
      alert: true,
    });
    expect(ch.alerts).toHaveLength(1);
    // an alert is raised once per entry
    expect(
      p.apply([ev('ct.verdict_revised', 'L', { verdict: 'suspect', applied: true })]).alerts,
    ).toEqual([]);

    p.apply([
      ev('parcel.inducted', 'T'),
      ev('targeting.hit', 'T', {
        listVersion: 'v3',
        entryId: 'e1',
        match: 'prefix',
        pattern: 'EX',
        reason: 'note',
      }),
      decided('T', 'inspection', 'targeting'),
    ]);
    expect(p.flag('T')).toMatchObject({
      reasons: ['targeting'],
      targeting: { listVersion: 'v3', entryId: 'e1', match: 'prefix', pattern: 'EX', note: 'note' },
    });
  });

  it('an escaped parcel (alarm.escaped, alarm.after-divert) becomes an alerting entry by name', () => {
    const p = projection();
    p.apply([
      ev('parcel.inducted', 'E'),
      ev('parcel.identified', 'E', { code: 'SF1234567890' }),
      decided('E', 'pass', 'clear'),
    ]);
    expect(p.flag('E')).toBeNull();
    const ch = p.apply([
      ev('alarm.escaped', 'E', { lane: 'pass', reason: 'late CT suspect after the divert' }),
    ]);
    expect(p.flag('E')).toMatchObject({
      reasons: ['escaped'],
      lane: 'pass',
      waybill: 'SF1234567890',
      ruleReason: 'late CT suspect after the divert',
      alert: true,
    });
    expect(ch.alerts).toHaveLength(1);
    p.apply([
      ev('parcel.inducted', 'F'),
      ev('alarm.after-divert', 'F', { lane: 'pass', reason: 'x' }),
    ]);
    expect(p.flag('F')?.reasons).toEqual(['escaped']);
  });

  it('gate fire and confirmation, a decision and the engine answer to it, an acknowledgement', () => {
    const p = projection();
    p.apply([
      ev('parcel.inducted', 'G'),
      decided('G', 'inspection', 'ct-unknown', { gateId: 'gate-x', verdict: 'unknown' }),
      ev('gate.fired', 'G', { gateId: 'gate-x' }),
      ev('divert.confirmed', 'G', {}),
      ev('inspector.alert_acknowledged', 'G', { parcelId: 'G', officer: 'li' }),
    ]);
    expect(p.flag('G')).toMatchObject({
      gate: { gateId: 'gate-x', fired: true, confirmed: true, failed: null },
      ackedBy: 'li',
      reasons: ['ct-unknown'],
    });
    const decision = {
      id: 'D1',
      parcelId: 'G',
      waybill: null,
      action: 'rescan',
      verdict: 'unknown',
      note: 'blurred',
      officer: 'li',
      at: '2026-01-01T01:00:00.000Z',
      atMs: Date.UTC(2026, 0, 1, 1),
      before: {},
      after: {},
      tookOverFrom: null,
    };
    const ch = p.apply([
      ev('inspector.decision', 'G', decision),
      ev('ct.officer_verdict', null, {
        requestedParcelId: 'G',
        reportId: 'D1',
        applied: false,
        reason: 'parcel not on the line',
        decidedLane: null,
      }),
    ]);
    expect(p.flag('G')).toMatchObject({
      status: 'decided',
      decision: { id: 'D1', action: 'rescan', officer: 'li', note: 'blurred' },
      firstDecisionAt: '2026-01-01T01:00:00.000Z',
    });
    expect(p.open.has('G')).toBe(false);
    expect(ch.decisions.get('D1')).toMatchObject({
      engine: { applied: false, reason: 'parcel not on the line' },
    });
    // a platform officer's verdict (ct-decision command) is shown on the entry
    p.apply([
      ev('parcel.inducted', 'H'),
      decided('H', 'inspection', 'ct-suspect', { verdict: 'suspect' }),
    ]);
    p.apply([
      ev('ct.officer_verdict', 'H', {
        officerId: 'remote-9',
        verdict: 'suspect',
        applied: true,
        reportId: 'R7',
      }),
    ]);
    expect(p.flag('H')?.remoteVerdict).toEqual({
      officerId: 'remote-9',
      verdict: 'suspect',
      applied: true,
    });
  });
});

describe('image link, CSV cells, story runs', () => {
  it('ids are URL-encoded into the template; a missing value gives no link', () => {
    const t = 'https://ct.local/view?img={imageId}&scan={scanId}';
    expect(imageUrl(t, { imageId: 'a b&c', scanId: 'S/1', parcelId: 'p', waybill: null })).toBe(
      'https://ct.local/view?img=a%20b%26c&scan=S%2F1',
    );
    expect(imageUrl(t, { imageId: null, scanId: 'S', parcelId: 'p', waybill: null })).toBeNull();
    expect(
      imageUrl(undefined, { imageId: 'x', scanId: 'S', parcelId: 'p', waybill: null }),
    ).toBeNull();
    expect(imageLinkIssue(t)).toBeNull();
    expect(imageLinkIssue('javascript:alert({imageId})')).toMatch(/http/);
    expect(imageLinkIssue('https://ct.local/{imageid}')).toMatch(/unknown placeholder/);
    expect(imageLinkIssue('https://ct.local/view')).toMatch(/neither/);
  });

  it('CSV cells are quoted and formulas neutralised', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "x"')).toBe('"say ""x"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell(-1)).toBe('-1');
    expect(csvCell(null)).toBe('');
    expect(csvCell('申报不实')).toBe('申报不实');
  });

  it('story seqs are read in runs of nearby seqs', () => {
    expect(seqRuns([5, 1, 3, 300, 100, 3, 164])).toEqual([
      [1, 5],
      [100, 164],
      [300, 300],
    ]);
    expect(seqRuns([])).toEqual([]);
  });
});
