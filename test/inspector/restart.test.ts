import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { auth, startRig, type Rig } from './rig.js';

/** Decisions and the queue survive restarts and kill -9 (real SQLite files). */
const dirs: string[] = [];
const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edge-inspector-restart-'));
  dirs.push(dir);
  return dir;
}

async function rigIn(dir: string): Promise<Rig> {
  const r = await startRig({ dir });
  rigs.push(r);
  return r;
}

describe('inspector decisions across restarts', () => {
  it('a decision answered over HTTP survives kill -9 of the gateway process', async () => {
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./decision-child.ts', import.meta.url).pathname, dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    let line: string;
    try {
      line = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), {
        timeoutMs: 60_000,
        what: 'the child decided',
      });
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const answer = JSON.parse(line) as {
      parcelId: string;
      status: number;
      body: { decision: { id: string } };
    };
    expect(answer.status).toBe(201);

    const r = await rigIn(dir);
    expect(r.desk.flag(answer.parcelId)).toMatchObject({
      status: 'decided',
      decision: { id: answer.body.decision.id, action: 'seize', officer: 'officer-li' },
    });
    const [decision] = r.desk.store.decisionsOf(answer.parcelId);
    expect(decision).toMatchObject({ note: 'kept after kill -9', verdict: 'suspect' });
    // still on its way to the platform: the event is a pending outbox row like any other
    const pending = r.outbox.pending(0, 10_000).filter((row) => row.type === 'inspector.decision');
    expect(pending.map((row) => JSON.parse(row.payloadJson).id)).toEqual([answer.body.decision.id]);
    const story = await r.app.inject({
      url: `/api/inspector/parcels/${answer.parcelId}`,
      headers: auth('officer'),
    });
    expect(story.json().events.map((e: { type: string }) => e.type)).toContain(
      'inspector.decision',
    );
    // decided, so another decision must say it revises this one
    const again = await r.app.inject({
      method: 'POST',
      url: `/api/inspector/parcels/${answer.parcelId}/decision`,
      headers: auth('officer2'),
      payload: { action: 'release' },
    });
    expect(again.statusCode).toBe(409);
  }, 120_000);

  it('events stored while the queue was not following are read from the outbox at the next start', async () => {
    const dir = tempDir();
    const first = await startRig({ dir });
    const earlier = await first.parcel('RD223479072CN', 'suspect');
    expect(first.desk.flag(earlier)?.status).toBe('open');
    // the desk stops following (as if the process died between the outbox commit and the
    // inspector's own write); the line and the outbox go on
    first.desk.close();
    const later = await first.parcel('RD000000005CN', 'unknown');
    await first.outbox.append([
      {
        type: 'inspector.decision',
        parcelId: earlier,
        atMono: first.clock.monoMs(),
        payload: {
          id: '01900000-0000-7000-8000-00000000abcd',
          parcelId: earlier,
          waybill: 'RD223479072CN',
          action: 'inspect',
          verdict: 'suspect',
          note: '',
          officer: 'officer-li',
          at: new Date(first.clock.wallMs()).toISOString(),
          atMs: first.clock.wallMs(),
          before: { status: 'open' },
          after: { status: 'decided' },
          tookOverFrom: null,
        },
      },
    ]);
    await first.close();

    const r = await rigIn(dir);
    expect(r.desk.flag(later)).toMatchObject({ status: 'open', verdict: 'unknown' });
    expect(r.desk.flag(later)?.reasons).toContain('ct-unknown');
    expect(r.desk.flag(earlier)).toMatchObject({
      status: 'decided',
      decision: { action: 'inspect', officer: 'officer-li' },
    });
    expect(r.desk.store.checkpoint()).toBe(r.outbox.stats().lastSeq);
    const queue = (
      await r.app.inject({ url: '/api/inspector/queue', headers: auth('officer') })
    ).json();
    expect(queue.open.map((f: { parcelId: string }) => f.parcelId)).toEqual([later]);
  }, 60_000);
});
