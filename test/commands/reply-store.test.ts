import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clocks.js';
import type { CommandHandlers } from '../../edge/commands/router.js';
import type { CommandReply, GateTestArgsT } from '../../edge/commands/schemas.js';
import { waitFor } from '../support/wait.js';
import { replyRig, replyStoreFiles } from './reply-rig.js';

/**
 * Command ids run at most once across restarts: a real SQLite reply store, routers on a fake
 * transport; a "restart" is a new store + router on the same file with another process token,
 * and one test kills a real child process with SIGKILL mid-command.
 */
const files = replyStoreFiles('reply-store-');
const { storeFile, openStore } = files;
afterEach(() => files.cleanup());

function gateHandlers(ran: GateTestArgsT[]): CommandHandlers {
  return {
    gateTest: (args) => {
      ran.push(args);
      return Promise.resolve({ fired: args.gateId, run: ran.length });
    },
  };
}

const GATE = { gateId: 'pass-gate', operatorId: 'tech' };

describe('durable command replies (real SQLite file)', () => {
  it('runs an id once and answers every re-send with the original reply, also after a restart', async () => {
    const file = storeFile();
    const ran: GateTestArgsT[] = [];
    const a = replyRig({
      handlers: gateHandlers(ran),
      store: openStore(file, { processToken: 'p1' }),
    });
    const first = await a.send('gate-test', 'g1', GATE);
    const again = await a.send('gate-test', 'g1', GATE);
    expect(first).toMatchObject({ id: 'g1', ok: true, result: { fired: 'pass-gate', run: 1 } });
    expect(again).toEqual(first);
    expect(a.published).toEqual([first, first]);
    expect(a.audit.filter((e) => e.type === 'command.executed')).toHaveLength(1);

    // restart: a new process (token), a new router, the same file
    files.closeLast();
    const b = replyRig({
      handlers: gateHandlers(ran),
      store: openStore(file, { processToken: 'p2' }),
    });
    const resent = await b.send('gate-test', 'g1', GATE);
    expect(resent).toEqual(first);
    expect(ran).toHaveLength(1);
    expect(b.router.counters.duplicates).toBe(1);
    expect(b.audit).toEqual([]);
    // a reused id for another command stays refused after the restart; a new id runs
    const other = await b.send('ct-decision', 'g1', {
      parcelId: 'p',
      verdict: 'clear',
      officerId: 'o1',
    });
    expect(other).toMatchObject({ ok: false, error: { code: 'EDGE_COMMAND_INVALID' } });
    expect(other?.error?.message).toMatch(/already used for 'gate-test'/);
    expect(await b.send('gate-test', 'g2', GATE)).toMatchObject({ ok: true, result: { run: 2 } });
  });

  it('refuses an id re-sent with other arguments or another expiresAt, also after a restart, and runs nothing', async () => {
    const file = storeFile();
    const ran: GateTestArgsT[] = [];
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const a = replyRig({
      handlers: gateHandlers(ran),
      store: openStore(file, { processToken: 'p1' }),
    });
    const first = await a.send('gate-test', 'g1', GATE, undefined, { expiresAt });
    expect(first).toMatchObject({ ok: true, result: { run: 1 } });
    files.closeLast();

    const b = replyRig({
      handlers: gateHandlers(ran),
      store: openStore(file, { processToken: 'p2' }),
    });
    const other = await b.send('gate-test', 'g1', { ...GATE, gateId: 'divert-gate' }, undefined, {
      expiresAt,
    });
    expect(other).toMatchObject({ id: 'g1', ok: false, error: { code: 'EDGE_COMMAND_INVALID' } });
    expect(other?.error?.message).toBe(
      "command id 'g1' was already used with different arguments; ids must be unique",
    );
    const otherExpiry = await b.send('gate-test', 'g1', GATE);
    expect(otherExpiry?.error?.message).toMatch(/already used with different arguments/);
    // the identical request (keys in another order) is still answered with the stored reply
    const same = await b.send(
      'gate-test',
      'g1',
      { operatorId: 'tech', gateId: 'pass-gate' },
      undefined,
      {
        expiresAt,
      },
    );
    expect(same).toEqual(first);
    expect(ran).toHaveLength(1);
    expect(b.router.counters.duplicates).toBe(1);
    expect(b.audit).toEqual([]);
  });

  it('a file written before argument hashes were kept (user_version 1) matches any arguments', async () => {
    const file = storeFile();
    const db = new Database(file);
    db.exec(`
      CREATE TABLE command_reply (
        id TEXT PRIMARY KEY, command TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('started', 'done')),
        process TEXT NOT NULL, reply TEXT, created_ms INTEGER NOT NULL, finished_ms INTEGER,
        reply_topic TEXT, correlation BLOB, published_at INTEGER);
      PRAGMA user_version = 1;
    `);
    const v1Reply: CommandReply = {
      schema: 1,
      id: 'old-1',
      command: 'gate-test',
      ok: true,
      result: { fired: 'pass-gate' },
      time: new Date().toISOString(),
    };
    db.prepare(
      `INSERT INTO command_reply VALUES ('old-1', 'gate-test', 'done', 'old', ?, ?, ?, 't', NULL, NULL)`,
    ).run(JSON.stringify(v1Reply), Date.now(), Date.now());
    db.close();
    const ran: GateTestArgsT[] = [];
    const store = openStore(file);
    const a = replyRig({ handlers: gateHandlers(ran), store });
    expect(store.get('old-1')).toMatchObject({ state: 'done', argsHash: null });
    // its arguments are unknown: any re-send is answered with the stored reply, nothing runs
    expect(await a.send('gate-test', 'old-1', { ...GATE, gateId: 'other' })).toEqual(v1Reply);
    expect(ran).toEqual([]);
    // new rows get a hash
    await a.send('gate-test', 'new-1', GATE);
    expect(store.get('new-1')?.argsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await a.send('gate-test', 'new-1', { ...GATE, gateId: 'other' })).toMatchObject({
      error: { code: 'EDGE_COMMAND_INVALID' },
    });
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    check.close();
  });

  it('a configured store that failed to open: state-changing commands refused, read-only answered, one alarm', async () => {
    const ran: GateTestArgsT[] = [];
    const a = replyRig({
      handlers: gateHandlers(ran),
      storeError: new Error('SQLITE_CANTOPEN: unable to open database file'),
    });
    a.router.start();
    expect(a.router.replyStoreState).toBe('unavailable');
    const refused = await a.send('gate-test', 'g1', GATE);
    expect(refused).toMatchObject({
      id: 'g1',
      ok: false,
      error: { code: 'EDGE_COMMAND_REPLY_STORE' },
    });
    expect(
      await a.send('targeting-replace', 't1', { listVersion: 'v1', entries: [] }),
    ).toMatchObject({ error: { code: 'EDGE_COMMAND_REPLY_STORE' } });
    expect(ran).toEqual([]);
    // a re-send is refused again (not answered from the cache), still without running
    expect(await a.send('gate-test', 'g1', GATE)).toMatchObject({
      error: { code: 'EDGE_COMMAND_REPLY_STORE' },
    });
    expect(ran).toEqual([]);
    expect(await a.send('ping', 'p1')).toMatchObject({ ok: true });
    expect(await a.send('config-get', 'c1')).toMatchObject({ ok: true });
    expect(a.router.health()).toMatchObject({
      replyStore: 'unavailable',
      counters: { storeRefused: 3 },
    });
    expect(a.audit.filter((e) => e.type === 'alarm.command-store')).toEqual([
      expect.objectContaining({
        payload: {
          code: 'EDGE_COMMAND_REPLY_STORE',
          message: expect.stringMatching(/CANTOPEN/) as unknown,
        },
      }),
    ]);
    expect(a.audit.filter((e) => e.type === 'command.executed')).toEqual([]);
    a.router.stop();

    // no store configured at all (tests, embedded use): memory-only ids, no alarm
    const mem = replyRig({ handlers: gateHandlers(ran) });
    mem.router.start();
    expect(await mem.send('gate-test', 'g1', GATE)).toMatchObject({ ok: true });
    expect(mem.router.health()).toMatchObject({
      replyStore: 'memory',
      counters: { storeRefused: 0 },
    });
    expect(mem.audit.some((e) => e.type === 'alarm.command-store')).toBe(false);
    mem.router.stop();
  });

  it('stores failed runs too: a re-send after a restart gets the same error, not a second try', async () => {
    const file = storeFile();
    let runs = 0;
    const handlers: CommandHandlers = {
      ctDecision: () => {
        runs++;
        return Promise.reject(new Error('parcel already past the diverter'));
      },
    };
    const args = { parcelId: 'p', verdict: 'clear', officerId: 'o1', reportId: 'R-1' };
    const a = replyRig({ handlers, store: openStore(file, { processToken: 'p1' }) });
    const first = await a.send('ct-decision', 'c1', args);
    expect(first?.error?.code).toBe('EDGE_COMMAND_FAILED');
    files.closeLast();
    const b = replyRig({ handlers, store: openStore(file, { processToken: 'p2' }) });
    expect(await b.send('ct-decision', 'c1', args)).toEqual(first);
    expect(runs).toBe(1);
  });

  it('answers EDGE_COMMAND_INTERRUPTED for an id a dead process started, and keeps that answer', async () => {
    const file = storeFile();
    const ran: GateTestArgsT[] = [];
    openStore(file).close(); // creates the schema
    const db = new Database(file);
    db.prepare(
      `INSERT INTO command_reply (id, command, state, process, created_ms)
       VALUES ('g9', 'gate-test', 'started', 'dead-process', ?)`,
    ).run(Date.now());
    db.close();
    const a = replyRig({ handlers: gateHandlers(ran), store: openStore(file) });
    const reply = await a.send('gate-test', 'g9', GATE);
    expect(reply).toMatchObject({
      id: 'g9',
      ok: false,
      error: {
        code: 'EDGE_COMMAND_INTERRUPTED',
        message: expect.stringMatching(/restarted while running.*new id/) as unknown,
      },
    });
    expect(ran).toEqual([]);
    expect(a.audit).toMatchObject([
      { type: 'command.executed', payload: { id: 'g9', error: 'EDGE_COMMAND_INTERRUPTED' } },
    ]);
    // stored as the id's reply: a later router answers the same, still without running it
    const b = replyRig({ handlers: gateHandlers(ran), store: openStore(file) });
    expect(await b.send('gate-test', 'g9', GATE)).toEqual(reply);
    expect(ran).toEqual([]);
  });

  it('a re-send reaching a new router while an older one of this process still runs it (config-put restart) waits for its reply', async () => {
    const file = storeFile();
    let finish: (r: Record<string, unknown>) => void = () => undefined;
    let runs = 0;
    const handlers: CommandHandlers = {
      putConfig: () => {
        runs++;
        return new Promise((resolve) => (finish = resolve));
      },
    };
    const args = { config: {}, operatorId: 'o1' };
    const oldStore = openStore(file, { processToken: 'same' });
    const old = replyRig({ handlers, store: oldStore });
    const running = old.send('config-put', 'cp1', args);
    await waitFor(() => runs === 1, { what: 'handler started' });
    // the old gateway stops while its handler runs: its store stays open for that reply
    oldStore.close();
    const next = replyRig({ handlers, store: openStore(file, { processToken: 'same' }) });
    const resent = next.send('config-put', 'cp1', args);
    finish({ applied: true });
    const original = await running;
    expect(original).toMatchObject({ ok: true, result: { applied: true } });
    expect(await resent).toEqual(original);
    expect(runs).toBe(1);
  });

  it('does not store read-only commands (ping, config-get)', async () => {
    const file = storeFile();
    const store = openStore(file);
    const a = replyRig({ handlers: {}, store });
    expect(await a.send('ping', 'p1')).toMatchObject({ ok: true });
    expect(await a.send('config-get', 'p2')).toMatchObject({ ok: true });
    expect(store.get('p1')).toBeNull();
    expect(store.count()).toBe(0);
  });

  it('runs no state-changing command when the store cannot record it', async () => {
    const file = storeFile();
    const store = openStore(file);
    const ran: GateTestArgsT[] = [];
    const a = replyRig({ handlers: gateHandlers(ran), store });
    store.close();
    const reply = await a.send('gate-test', 'g1', GATE);
    expect(reply).toMatchObject({ ok: false, error: { code: 'EDGE_COMMAND_REPLY_STORE' } });
    expect(ran).toEqual([]);
  });

  it('is bounded: keeps the newest maxRows and drops rows older than maxAgeMs', async () => {
    const file = storeFile();
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const store = openStore(file, {
      wallMs: clock.wallMs,
      maxRows: 5,
      maxAgeMs: 60_000,
      minKeepRows: 0,
      pruneEvery: 1,
    });
    const a = replyRig({ handlers: gateHandlers([]), store, clock });
    for (let i = 1; i <= 8; i++) await a.send('gate-test', `g${i}`, GATE);
    expect(store.count()).toBe(5);
    expect(store.get('g3')).toBeNull();
    expect(store.get('g4')).toMatchObject({ state: 'done', command: 'gate-test' });
    expect(store.get('g8')).toMatchObject({ state: 'done' });
    clock.advance(61_000);
    await a.send('gate-test', 'g9', GATE);
    expect(store.count()).toBe(1);
    expect(store.get('g9')).not.toBeNull();
    expect(store.pruned).toBe(3 + 5);
  });

  it('a wall clock that jumps forward does not make it forget the newest ids', async () => {
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const ran: GateTestArgsT[] = [];
    const store = openStore(storeFile(), {
      wallMs: clock.wallMs,
      maxAgeMs: 60_000,
      minKeepRows: 3,
      pruneEvery: 1,
    });
    const a = replyRig({ handlers: gateHandlers(ran), store, clock });
    for (let i = 1; i <= 6; i++) await a.send('gate-test', `j${i}`, GATE);
    // NTP (or an RTC-less Pi) sets the clock a year ahead
    clock.advance(365 * 86_400_000);
    await a.send('gate-test', 'j7', GATE);
    expect(store.count()).toBe(3);
    for (const id of ['j5', 'j6', 'j7']) expect(store.get(id)).not.toBeNull();
    // a re-send of a recent id is still answered from the store, not run again
    const before = ran.length;
    await a.send('gate-test', 'j6', GATE);
    expect(ran.length).toBe(before);
  });

  it('moves an unusable file aside and starts a new one', () => {
    const file = storeFile();
    writeFileSync(file, 'this is not a SQLite database, just some bytes'.repeat(100));
    const store = openStore(file);
    expect(store.count()).toBe(0);
    const dir = join(file, '..');
    expect(readdirSync(dir).some((f) => f.startsWith('command-replies.sqlite.corrupt-'))).toBe(
      true,
    );
    expect(existsSync(file)).toBe(true);
  });

  it('kill -9 mid-command: the finished id is answered from the file, the cut one is INTERRUPTED', async () => {
    const file = storeFile();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('./reply-child.ts', import.meta.url).pathname, file],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor(() => out.includes('running k1'), { timeoutMs: 30_000, what: 'child running' });
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const k0 = JSON.parse(/done k0 (.*)/.exec(out)?.[1] ?? 'null') as CommandReply;
    expect(k0).toMatchObject({ ok: true, result: { pid: child.pid } });

    const ran: GateTestArgsT[] = [];
    const a = replyRig({ handlers: gateHandlers(ran), store: openStore(file) });
    expect(await a.send('gate-test', 'k0', GATE)).toEqual(k0);
    // the re-send of the cut command (the same request: its arguments match the started row)
    expect(await a.send('gate-test', 'k1', { gateId: 'hang', operatorId: 'tech' })).toMatchObject({
      ok: false,
      error: { code: 'EDGE_COMMAND_INTERRUPTED' },
    });
    expect(ran).toEqual([]);
  });
});
