import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { engineConfigFrom } from '../../config/engine-config.js';
import { openEngineStores } from '../../edge/gateway/engine-stores.js';
import { EngineRunner } from '../../edge/engine/engine-runner.js';
import type { EventDraft } from '../../edge/events/model.js';
import { waitFor } from '../support/wait.js';

/** A gateway killed mid-line (SIGKILL): the next start records its parcels as inspection. */
const dirs: string[] = [];
const runners: EngineRunner[] = [];
afterEach(() => {
  for (const r of runners.splice(0)) r.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('engine runner restart (real SQLite file, kill -9)', () => {
  it('parcels the killed process was tracking are decided inspection; the targeting list survives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-restart-'));
    dirs.push(dir);
    const stateFile = join(dir, 'line-state.sqlite');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./runner-child.ts', import.meta.url).pathname, stateFile],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor(() => out.includes('ready'), { timeoutMs: 30_000, what: 'child ready' });
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    expect(out).toMatch(/ready 3/);

    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    const line = new ConfigValidator(driverKindSchemas()).parse(doc).line;
    const events: EventDraft[] = [];
    const runner = new EngineRunner({
      engine: engineConfigFrom(line),
      lineId: line.id,
      clock: systemClock,
      log: pino({ level: 'silent' }),
      newParcelId: () => 'new',
      sendGateCommand: () => {},
      recordEvents: (e) => events.push(...e),
      stores: openEngineStores(stateFile, pino({ level: 'silent' }), systemClock),
    });
    runners.push(runner);
    const decided = events.filter((e) => e.type === 'parcel.decided');
    expect(decided.map((e) => e.parcelId).sort()).toEqual(['child-1', 'child-2', 'child-3']);
    for (const d of decided)
      expect(d.payload).toMatchObject({ lane: 'inspection', ruleId: 'tracking' });
    expect(decided.find((d) => d.parcelId === 'child-1')?.payload).toMatchObject({
      previousLane: 'pass',
      revised: true,
    });
    expect(runner.targeting?.active()?.version).toBe('child-v1');
    expect(runner.targeting?.active()?.match('EX123')).not.toBeNull();
    // a second start has nothing left to restore
    runner.stop();
    runners.pop();
    const again: EventDraft[] = [];
    runners.push(
      new EngineRunner({
        engine: engineConfigFrom(line),
        lineId: line.id,
        clock: systemClock,
        log: pino({ level: 'silent' }),
        newParcelId: () => 'x',
        sendGateCommand: () => {},
        recordEvents: (e) => again.push(...e),
        stores: openEngineStores(stateFile, pino({ level: 'silent' }), systemClock),
      }),
    );
    expect(again.filter((e) => e.type === 'parcel.decided')).toEqual([]);
  });
});
