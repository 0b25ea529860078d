import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { EdgeEvent } from '../../edge/events/model.js';
import { waitFor } from '../support/wait.js';
import { auth, startRig, type Rig } from './rig.js';

/**
 * The inspector workstation through inject(): real outbox and inspector SQLite files, the real
 * line engine fed by the test, the real HTTP server with its authentication and roles.
 */
const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

async function rig(options: Parameters<typeof startRig>[0] = {}): Promise<Rig> {
  const r = await startRig(options);
  rigs.push(r);
  return r;
}

function decide(
  app: FastifyInstance,
  user: Parameters<typeof auth>[0],
  parcelId: string,
  body: unknown,
) {
  return app.inject({
    method: 'POST',
    url: `/api/inspector/parcels/${parcelId}/decision`,
    headers: auth(user),
    payload: body as Record<string, unknown>,
  });
}

const stored = (r: Rig, type: string, parcelId?: string): EdgeEvent[] =>
  r.committed.filter((e) => e.type === type && (!parcelId || e.parcelId === parcelId));

describe('inspector queue and decisions over HTTP', () => {
  it('a CT suspect is in the queue with its image link; the inspector decides, viewer and technician cannot', async () => {
    const r = await rig();
    const pid = await r.parcel('RD223479072CN', 'suspect', 'IMG 7/../x?y=1&z="<b>"');

    const viewerQueue = await r.app.inject({
      url: '/api/inspector/queue',
      headers: auth('viewer'),
    });
    expect(viewerQueue.statusCode).toBe(403);
    const queue = await r.app.inject({ url: '/api/inspector/queue', headers: auth('officer') });
    expect(queue.statusCode).toBe(200);
    const entry = queue.json().open.find((f: { parcelId: string }) => f.parcelId === pid);
    expect(entry).toMatchObject({
      waybill: 'RD223479072CN',
      lane: 'inspection',
      ruleId: 'ct-suspect',
      verdict: 'suspect',
      confidence: 0.87,
      imageId: 'IMG 7/../x?y=1&z="<b>"',
      alert: true,
      status: 'open',
      openedBy: null,
    });
    expect(entry.reasons).toContain('ct-suspect');
    // the id is one query value: it cannot add parameters, change the path or leave the attribute
    expect(entry.imageUrl).toBe(
      'https://ct.local/view?img=IMG%207%2F..%2Fx%3Fy%3D1%26z%3D%22%3Cb%3E%22',
    );
    expect(entry.waitingMs).toBeGreaterThanOrEqual(0);

    const seqBefore = r.outbox.stats().lastSeq;
    for (const user of ['viewer', 'technician'] as const) {
      const refused = await decide(r.app, user, pid, { action: 'release', note: 'looks fine' });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('EDGE_HTTP_FORBIDDEN');
    }
    // the role is checked before the body: a technician learns nothing about what is valid
    const malformed = await decide(r.app, 'technician', pid, { action: 'destroy', x: 1 });
    expect(malformed.statusCode).toBe(403);
    // a technician may read the queue but not open an entry either
    const techClaim = await r.app.inject({
      method: 'POST',
      url: `/api/inspector/parcels/${pid}/claim`,
      headers: auth('technician'),
    });
    expect(techClaim.statusCode).toBe(403);
    expect(r.outbox.stats().lastSeq).toBe(seqBefore);
    expect(r.desk.flag(pid)?.status).toBe('open');

    const ok = await decide(r.app, 'officer', pid, { action: 'seize', note: 'blade in slice 40' });
    expect(ok.statusCode).toBe(201);
    const body = ok.json();
    expect(body.decision).toMatchObject({
      parcelId: pid,
      action: 'seize',
      verdict: 'suspect',
      officer: 'officer-li',
      note: 'blade in slice 40',
      waybill: 'RD223479072CN',
      before: { status: 'open', verdict: 'suspect', lane: 'inspection' },
      after: { status: 'decided', action: 'seize' },
    });
    // still on the line: the engine took the officer's suspect (already inspection)
    expect(body.engine.reason).toMatch(/officer suspect: inspection/);
    const [decisionEvent] = stored(r, 'inspector.decision', pid);
    expect(decisionEvent?.payload).toMatchObject({ id: body.decision.id, officer: 'officer-li' });
    expect(body.event).toEqual({ id: decisionEvent!.id, seq: decisionEvent!.seq });
    const audit = stored(r, 'audit', pid);
    expect(audit[0]?.payload).toMatchObject({
      action: 'inspector.decision',
      actor: 'officer-li',
      what: 'seize',
      decisionId: body.decision.id,
      before: { status: 'open' },
      after: { status: 'decided', action: 'seize' },
    });
    // the decision and its audit were committed together, in that order
    expect(audit[0]!.seq).toBe(decisionEvent!.seq + 1);
    // the engine's answer is recorded like every engine event (after the HTTP answer)
    const officerVerdict = await waitFor(() => {
      const found = stored(r, 'ct.officer_verdict', pid);
      return found.length > 0 && found;
    });
    expect(officerVerdict[0]?.payload).toMatchObject({
      officerId: 'officer-li',
      verdict: 'suspect',
      reportId: body.decision.id,
    });

    const after = (
      await r.app.inject({ url: '/api/inspector/queue', headers: auth('officer') })
    ).json();
    expect(after.open.some((f: { parcelId: string }) => f.parcelId === pid)).toBe(false);
    expect(after.decided[0]).toMatchObject({
      parcelId: pid,
      status: 'decided',
      decision: { action: 'seize', officer: 'officer-li' },
    });
  });

  it('the decision is in the outbox before the HTTP answer leaves', async () => {
    const seen: { inOutbox: boolean; statusCode: number }[] = [];
    let current: Rig | null = null;
    const r = await rig({
      extraRoutes: [
        (app) => {
          app.addHook('onSend', async (req, reply, payload) => {
            if (current && req.url.endsWith('/decision')) {
              // read the SQLite file at the moment the answer is being written
              const last = current.outbox.stats().lastSeq;
              const rows = current.outbox.range('events', 1, last, 100_000);
              seen.push({
                inOutbox: rows.some((row) => row.type === 'inspector.decision'),
                statusCode: reply.statusCode,
              });
            }
            return payload;
          });
        },
      ],
    });
    current = r;
    const pid = await r.parcel('RD223479072CN', 'unknown');
    const res = await decide(r.app, 'officer', pid, { action: 'inspect' });
    expect(res.statusCode).toBe(201);
    expect(seen).toEqual([{ inOutbox: true, statusCode: 201 }]);
  });

  it('an unknown parcel or a malformed request is a clear 4xx and changes nothing', async () => {
    const r = await rig();
    const pid = await r.parcel('RD223479072CN', 'suspect');
    const seq = r.outbox.stats().lastSeq;
    const unknown = await decide(r.app, 'officer', '01900000-0000-7000-8000-000000000000', {
      action: 'seize',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'EDGE_INSPECTOR_UNKNOWN_PARCEL' });
    const bad: unknown[] = [
      { action: 'destroy' },
      {},
      { action: 'release', note: 'x'.repeat(2001) },
      { action: 'release', officer: 'someone-else' },
      { action: 'release', takeOver: 'yes' },
    ];
    for (const body of bad) {
      const res = await decide(r.app, 'officer', pid, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('EDGE_INSPECTOR_INVALID');
    }
    const badId = await decide(r.app, 'officer', 'x%20y', { action: 'release' });
    expect(badId.statusCode).toBe(400);
    const notJson = await r.app.inject({
      method: 'POST',
      url: `/api/inspector/parcels/${pid}/decision`,
      headers: { ...auth('officer'), 'content-type': 'application/json' },
      payload: '{"action": "release"',
    });
    expect(notJson.statusCode).toBe(400);
    expect(r.outbox.stats().lastSeq).toBe(seq);
    expect(r.desk.flag(pid)).toMatchObject({ status: 'open', decision: null });
    expect(r.desk.store.decisionsOf(pid)).toEqual([]);
  });

  it('a seize sends a parcel cleared for pass to inspection; a release never clears a machine suspect', async () => {
    const r = await rig();
    const cleared = await r.parcel('RD000000005CN', 'clear');
    expect(r.desk.flag(cleared)).toBeNull(); // pass: nothing for the officer
    const found = await r.app.inject({
      url: '/api/inspector/search?q=rd000000005cn',
      headers: auth('officer'),
    });
    expect(found.json().hits).toMatchObject([{ parcelId: cleared, flagged: false }]);
    const seize = await decide(r.app, 'officer', cleared, { action: 'seize', note: 'tip-off' });
    expect(seize.statusCode).toBe(201);
    expect(seize.json().engine).toMatchObject({ applied: true });
    const revised = await waitFor(() =>
      stored(r, 'parcel.decided', cleared).find((e) => e.payload.revised === true),
    );
    expect(revised.payload).toMatchObject({ lane: 'inspection', ruleId: 'fail-safe-guard' });
    expect(r.desk.flag(cleared)).toMatchObject({
      status: 'decided',
      decision: { action: 'seize' },
    });

    const suspect = await r.parcel('RD223479072CN', 'suspect');
    const release = await decide(r.app, 'officer', suspect, { action: 'release' });
    expect(release.statusCode).toBe(201);
    expect(release.json().engine).toMatchObject({
      applied: false,
      reason: expect.stringMatching(/not cleared at the gateway/),
    });
    expect(stored(r, 'parcel.decided', suspect).every((e) => e.payload.lane === 'inspection')).toBe(
      true,
    );
  });

  it('two officers never work one parcel unknowingly: claims, take-over, revise', async () => {
    const r = await rig();
    const pid = await r.parcel('RD223479072CN', 'suspect');
    const claim = (user: 'officer' | 'officer2', body?: Record<string, unknown>) =>
      r.app.inject({
        method: 'POST',
        url: `/api/inspector/parcels/${pid}/claim`,
        headers: auth(user),
        ...(body ? { payload: body } : {}),
      });
    expect((await claim('officer')).statusCode).toBe(200);
    const seen = (await r.app.inject({ url: '/api/inspector/queue', headers: auth('officer2') }))
      .json()
      .open.find((f: { parcelId: string }) => f.parcelId === pid);
    expect(seen.openedBy).toMatchObject({ officer: 'officer-li' });
    const taken = await claim('officer2');
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({
      code: 'EDGE_INSPECTOR_CLAIMED',
      details: { openedBy: 'officer-li' },
    });
    const seq = r.outbox.stats().lastSeq;
    const refused = await decide(r.app, 'officer2', pid, { action: 'release' });
    expect(refused.statusCode).toBe(409);
    expect(r.outbox.stats().lastSeq).toBe(seq);

    const over = await decide(r.app, 'officer2', pid, { action: 'inspect', takeOver: true });
    expect(over.statusCode).toBe(201);
    expect(over.json().decision).toMatchObject({
      officer: 'officer-wang',
      tookOverFrom: 'officer-li',
    });
    expect(stored(r, 'audit', pid)[0]?.payload).toMatchObject({ tookOverFrom: 'officer-li' });
    // decided: the claim is gone; a second decision must say it revises the first
    expect(r.desk.claims.holder(pid)).toBeNull();
    const again = await decide(r.app, 'officer', pid, { action: 'seize' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: 'EDGE_INSPECTOR_DECIDED',
      details: { decision: { action: 'inspect', officer: 'officer-wang' } },
    });
    const revise = await decide(r.app, 'officer', pid, { action: 'seize', revise: true });
    expect(revise.statusCode).toBe(201);
    expect(revise.json().decision.before).toMatchObject({
      status: 'decided',
      decision: { action: 'inspect', officer: 'officer-wang' },
    });
    expect(r.desk.store.decisionsOf(pid).map((d) => d.action)).toEqual(['inspect', 'seize']);
    // the first decision ended the wait; the latest one is shown
    const flag = r.desk.flag(pid)!;
    expect(flag.decision?.action).toBe('seize');
    expect(flag.firstDecisionAt).toBe(over.json().decision.at);
  });

  it('targeting hits and missing verdicts, alert acknowledgement, story, search and shift report', async () => {
    const r = await rig();
    r.runner.replaceTargeting(
      'v1',
      [{ id: 'risk-7', match: 'exact', pattern: 'EX000000005CN', reason: '布控: 申报不实' }],
      'test',
    );
    const targeted = await r.parcel('EX000000005CN', 'clear');
    const missing = await r.parcel('RD223479072CN', null);
    expect(r.desk.flag(targeted)).toMatchObject({
      ruleId: 'targeting',
      alert: true,
      targeting: { entryId: 'risk-7', note: '布控: 申报不实', listVersion: 'v1' },
    });
    expect(r.desk.flag(targeted)?.reasons).toContain('targeting');
    expect(r.desk.flag(missing)).toMatchObject({
      ruleId: 'ct-verdict-timeout',
      reasons: ['verdict-missing'],
      alert: false,
    });

    const ack = await r.app.inject({
      method: 'POST',
      url: `/api/inspector/parcels/${targeted}/ack`,
      headers: auth('officer'),
    });
    expect(ack.statusCode).toBe(200);
    expect(r.desk.flag(targeted)).toMatchObject({ ackedBy: 'officer-li' });
    expect(r.desk.pendingAlerts().map((f) => f.parcelId)).not.toContain(targeted);

    expect(
      (await decide(r.app, 'officer', targeted, { action: 'inspect', note: '=1+1' })).statusCode,
    ).toBe(201);
    await waitFor(() => r.desk.store.decisionsOf(targeted)[0]?.engine);
    const story = await r.app.inject({
      url: `/api/inspector/parcels/${targeted}`,
      headers: auth('officer'),
    });
    expect(story.statusCode).toBe(200);
    const s = story.json();
    expect(s).toMatchObject({ parcelId: targeted, waybill: 'EX000000005CN', missing: 0 });
    const types = s.events.map((e: { type: string }) => e.type);
    for (const t of [
      'parcel.inducted',
      'parcel.identified',
      'targeting.hit',
      'ct.verdict',
      'parcel.decided',
      'inspector.alert_acknowledged',
      'inspector.decision',
      'audit',
      'ct.officer_verdict',
    ])
      expect(types).toContain(t);
    const seqs = s.events.map((e: { seq: number }) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    // the parcel had left the line by then (the next parcel waited for its deadline)
    expect(s.decisions[0]).toMatchObject({
      action: 'inspect',
      engine: { applied: false, reason: expect.stringMatching(/not on the line/) },
    });

    const byWaybill = await r.app.inject({
      url: '/api/inspector/search?q=EX000000005CN',
      headers: auth('officer'),
    });
    expect(byWaybill.json().hits).toMatchObject([
      { parcelId: targeted, flagged: true, status: 'decided', decision: 'inspect' },
    ]);

    const from = new Date(r.clock.wallMs() - 3_600_000).toISOString();
    const to = new Date(r.clock.wallMs() + 1000).toISOString();
    const report = await r.app.inject({
      url: `/api/inspector/report?from=${from}&to=${to}`,
      headers: auth('officer'),
    });
    expect(report.statusCode).toBe(200);
    expect(report.json()).toMatchObject({
      flags: { total: 2, byReason: { targeting: 1, 'verdict-missing': 1 } },
      waiting: { decided: 1, open: 1 },
      decisions: {
        total: 1,
        byAction: { inspect: 1 },
        byOfficer: { 'officer-li': { inspect: 1 } },
      },
    });
    const csv = await r.app.inject({
      url: `/api/inspector/report?from=${from}&to=${to}&format=csv`,
      headers: auth('officer'),
    });
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="shift-report-/);
    const lines = csv.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toMatch(/^parcelId,waybill,flaggedAt,reasons/);
    expect(lines).toHaveLength(3);
    // a note that looks like a formula is neutralised for spreadsheets
    expect(lines.find((l) => l.startsWith(targeted))).toContain(`,'=1+1`);
    const badRange = await r.app.inject({
      url: `/api/inspector/report?from=${to}&to=${from}`,
      headers: auth('officer'),
    });
    expect(badRange.statusCode).toBe(400);
  });
});
