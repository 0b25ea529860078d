import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/clocks.js';
import { EdgeError } from '../../edge/errors.js';
import type { CommandHandlers, CommandRouter } from '../../edge/commands/router.js';
import type { CommandReply, GateTestArgsT } from '../../edge/commands/schemas.js';
import { waitFor } from '../support/wait.js';
import { FakeReplyLink, replyRig, replyStoreFiles } from './reply-rig.js';

/**
 * Stored replies that were never published are delivered late by the next router: real SQLite
 * files, routers on a fake uplink (`FakeReplyLink`: offline, failing, connect events). A
 * "restart" is a new store + router on the same file (another process token).
 */
const files = replyStoreFiles('late-replies-');
const { storeFile, openStore } = files;
const routers: CommandRouter[] = [];
afterEach(() => {
  for (const r of routers.splice(0)) r.stop();
  files.cleanup();
});

function rig(o: Parameters<typeof replyRig>[0], start = true) {
  const r = replyRig(o);
  routers.push(r.router);
  if (start) r.router.start();
  return r;
}

function gateHandlers(ran: GateTestArgsT[]): CommandHandlers {
  return {
    gateTest: (args) => {
      ran.push(args);
      return Promise.resolve({ fired: args.gateId, run: ran.length });
    },
  };
}

const GATE = { gateId: 'pass-gate', operatorId: 'tech' };
const RESPONSE_TOPIC = 'platform/responses/ops-7';

function mqtt5(n: number) {
  return { responseTopic: RESPONSE_TOPIC, correlationData: Buffer.from([0xca, 0xfe, 0x00, n]) };
}

function publishedAt(file: string, id: string): number | null {
  const db = new Database(file, { readonly: true });
  try {
    const row = db.prepare('SELECT published_at FROM command_reply WHERE id = ?').get(id) as
      { published_at: number | null } | undefined;
    return row?.published_at ?? null;
  } finally {
    db.close();
  }
}

describe('late delivery of unpublished command replies (real SQLite file)', () => {
  it('a reply whose publish failed is published by the next router on start, byte for byte, once', async () => {
    const file = storeFile();
    const ran: GateTestArgsT[] = [];
    const downLink = new FakeReplyLink();
    downLink.failing = true;
    const a = rig({
      handlers: gateHandlers(ran),
      store: openStore(file, { processToken: 'p1' }),
      link: downLink,
      lateReplyRetryMs: 60_000,
    });
    const reply = await a.send('gate-test', 'g1', GATE, mqtt5(1));
    expect(reply).toMatchObject({ id: 'g1', ok: true });
    expect(downLink.sent).toEqual([]);
    expect(a.router.counters.replyFailures).toBe(1);
    expect(publishedAt(file, 'g1')).toBeNull();
    a.router.stop();
    files.closeLast();

    // restart: the new router publishes it on start, to the same topic with the same correlation
    const link = new FakeReplyLink();
    const b = rig({
      handlers: gateHandlers(ran),
      store: openStore(file, { processToken: 'p2' }),
      link,
    });
    await waitFor(() => link.sent.length === 1, { what: 'late reply' });
    expect(link.sent[0]).toEqual({
      topic: RESPONSE_TOPIC,
      payload: JSON.stringify(reply),
      correlation: Buffer.from([0xca, 0xfe, 0x00, 1]),
    });
    await waitFor(() => publishedAt(file, 'g1') !== null, { what: 'marked published' });
    expect(b.router.lateReplies).toMatchObject({ delivered: 1, failures: 0, stale: 0 });
    expect(ran).toHaveLength(1);
    b.router.stop();
    files.closeLast();

    // a third router finds nothing to deliver (a ping proves it started and answers)
    const third = new FakeReplyLink();
    const c = rig({
      handlers: gateHandlers(ran),
      store: openStore(file, { processToken: 'p3' }),
      link: third,
    });
    await c.send('ping', 'ping-1');
    expect(third.sent.map((s) => (JSON.parse(s.payload) as CommandReply).id)).toEqual(['ping-1']);
    expect(c.router.lateReplies).toMatchObject({ delivered: 0, failures: 0 });
  });

  it('waits for the uplink to connect, retries a failed delivery with backoff, keeps finish order', async () => {
    const file = storeFile();
    const down = new FakeReplyLink();
    down.connected = false;
    const a = rig({
      handlers: gateHandlers([]),
      store: openStore(file, { processToken: 'p1' }),
      link: down,
    });
    const first = await a.send('gate-test', 'o1', GATE, mqtt5(1));
    const second = await a.send('gate-test', 'o2', GATE); // no response topic: fallback topic
    a.router.stop();
    files.closeLast();

    const link = new FakeReplyLink();
    link.connected = false;
    const b = rig({
      handlers: gateHandlers([]),
      store: openStore(file, { processToken: 'p2' }),
      link,
      lateReplyRetryMs: 20,
    });
    expect(link.attempts).toBe(0); // offline: no try until the uplink connects
    link.failing = true;
    link.connect();
    await waitFor(() => (b.router.lateReplies?.failures ?? 0) >= 2, { what: 'retries' });
    expect(link.sent).toEqual([]);
    expect(publishedAt(file, 'o1')).toBeNull();
    link.failing = false;
    await waitFor(() => link.sent.length === 2, { what: 'both late replies' });
    expect(link.sent.map((s) => s.payload)).toEqual([
      JSON.stringify(first),
      JSON.stringify(second),
    ]);
    expect(link.sent[1]).toMatchObject({
      topic: b.topics.reply('gate-test'),
      correlation: undefined,
    });
    await waitFor(() => publishedAt(file, 'o2') !== null, { what: 'marked published' });
    expect(b.router.lateReplies?.delivered).toBe(2);
  });

  it('a reply the broker refuses does not block later ones; after maxAttempts it is undeliverable, still the answer to a re-send', async () => {
    const file = storeFile();
    const down = new FakeReplyLink();
    down.connected = false;
    const a = rig({
      handlers: gateHandlers([]),
      store: openStore(file, { processToken: 'p1' }),
      link: down,
    });
    // r1 to a response topic the platform's account may not publish to, r3 too large
    const r1 = await a.send('gate-test', 'r1', GATE, {
      responseTopic: 'platform/forbidden',
      correlationData: Buffer.from([1]),
    });
    const r2 = await a.send('gate-test', 'r2', GATE, mqtt5(2));
    const r3 = await a.send('gate-test', 'r3', GATE, mqtt5(3));
    a.router.stop();
    files.closeLast();

    const link = new FakeReplyLink();
    const tries = new Map<string, number>();
    link.refuse = (topic, payload) => {
      const id = (JSON.parse(payload) as CommandReply).id ?? '';
      tries.set(id, (tries.get(id) ?? 0) + 1);
      // as mqtt.js rejects on an MQTT 5 PUBACK with reason code 0x87
      if (topic === 'platform/forbidden')
        return Object.assign(new Error('Publish error: Not authorized'), { code: 0x87 });
      if (id === 'r3') return new EdgeError('EDGE_UPLINK_TOO_LARGE', 'reply too large');
      return null;
    };
    const b = rig({
      handlers: gateHandlers([]),
      store: openStore(file, { processToken: 'p2' }),
      link,
      lateReplyRetryMs: 10,
    });
    // r2 goes out although r1 before it is refused on every try (before: blocked for good)
    await waitFor(() => link.sent.length === 1, { what: 'r2 past the refused r1' });
    expect(link.sent[0]?.payload).toBe(JSON.stringify(r2));
    expect(tries.get('r1')).toBeGreaterThanOrEqual(1);
    await waitFor(() => b.router.lateReplies?.undeliverable === 2, {
      timeoutMs: 20_000,
      what: 'r1 and r3 undeliverable',
    });
    expect(tries.get('r1')).toBe(5);
    expect(tries.get('r3')).toBe(5);
    expect(b.router.lateReplies).toMatchObject({ delivered: 1, failures: 10 });
    expect(publishedAt(file, 'r1')).toBeNull();
    b.router.stop();
    files.closeLast();

    // kept in the file: a new process does not try them again, and delivers a new late reply
    const c1 = rig({
      handlers: gateHandlers([]),
      store: openStore(file, { processToken: 'p3' }),
      link: down,
    });
    const r4 = await c1.send('gate-test', 'r4', GATE, mqtt5(4));
    c1.router.stop();
    files.closeLast();
    const c = rig({
      handlers: gateHandlers([]),
      store: openStore(file, { processToken: 'p4' }),
      link,
    });
    await waitFor(() => link.sent.length === 2, { what: 'r4 late' });
    expect(link.sent[1]?.payload).toBe(JSON.stringify(r4));
    expect(tries.get('r1')).toBe(5);
    expect(tries.get('r3')).toBe(5);
    // a re-send of r1 (to a topic it may publish to) is answered with the stored reply
    expect(await c.send('gate-test', 'r1', GATE)).toEqual(r1);
    expect(publishedAt(file, 'r1')).not.toBeNull();
    expect(await c.send('gate-test', 'r3', GATE)).toEqual(r3);
  });

  it('an offline uplink ends a pass without counting attempts: many offline failures never make a reply undeliverable', async () => {
    const file = storeFile();
    const link = new FakeReplyLink();
    link.failing = true; // rejects EDGE_UPLINK_OFFLINE, as the uplink does while not connected
    const a = rig({
      handlers: gateHandlers([]),
      store: openStore(file),
      link,
      lateReplyRetryMs: 5,
    });
    const reply = await a.send('gate-test', 'o1', GATE, mqtt5(7));
    await waitFor(() => (a.router.lateReplies?.failures ?? 0) >= 6, { what: 'offline retries' });
    expect(a.router.lateReplies?.undeliverable).toBe(0);
    link.failing = false;
    await waitFor(() => link.sent.length === 1, { what: 'delivered once online' });
    expect(link.sent[0]?.payload).toBe(JSON.stringify(reply));
  });

  it('a reply the router could not publish live is retried by the same router', async () => {
    const file = storeFile();
    const link = new FakeReplyLink();
    link.failing = true;
    const a = rig({
      handlers: gateHandlers([]),
      store: openStore(file),
      link,
      lateReplyRetryMs: 20,
    });
    const reply = await a.send('gate-test', 'r1', GATE, mqtt5(3));
    expect(link.sent).toEqual([]);
    link.failing = false;
    await waitFor(() => link.sent.length === 1, { what: 'retried reply' });
    expect(link.sent[0]?.payload).toBe(JSON.stringify(reply));
    await waitFor(() => publishedAt(file, 'r1') !== null, { what: 'marked published' });
  });

  it('leaves replies older than the bound unpublished and counts them; a re-send still gets them', async () => {
    const file = storeFile();
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const down = new FakeReplyLink();
    down.failing = true;
    const a = rig({
      handlers: gateHandlers([]),
      store: openStore(file, { processToken: 'p1', wallMs: clock.wallMs }),
      link: down,
      clock,
      lateReplyRetryMs: 60_000,
    });
    const old = await a.send('gate-test', 'old', GATE, mqtt5(1));
    clock.advance(50 * 60_000);
    const recent = await a.send('gate-test', 'recent', GATE, mqtt5(2));
    clock.advance(15 * 60_000); // 'old' finished 65 min ago, 'recent' 15 min ago
    a.router.stop();
    files.closeLast();

    const link = new FakeReplyLink();
    const b = rig({
      handlers: gateHandlers([]),
      store: openStore(file, { processToken: 'p2', wallMs: clock.wallMs }),
      link,
      clock,
      lateReplyMaxAgeMs: 3600_000,
    });
    await waitFor(() => link.sent.length === 1, { what: 'recent late reply' });
    expect(link.sent[0]?.payload).toBe(JSON.stringify(recent));
    expect(b.router.lateReplies).toMatchObject({ delivered: 1, stale: 1 });
    expect(publishedAt(file, 'old')).toBeNull();
    expect(await b.send('gate-test', 'old', GATE, mqtt5(9))).toEqual(old);
    // answered from the store on its new destination: that counts as published
    expect(publishedAt(file, 'old')).not.toBeNull();
  });

  it('a command cut by a dead process gets its EDGE_COMMAND_INTERRUPTED reply without a re-send', async () => {
    const file = storeFile();
    const hang = new FakeReplyLink();
    const a = rig({
      handlers: { gateTest: () => new Promise(() => undefined) },
      store: openStore(file, { processToken: 'dead' }),
      link: hang,
      handlerTimeoutMs: 600_000,
    });
    void a.send('gate-test', 'cut', GATE, mqtt5(4));
    await waitFor(() => openStore(file).unfinished(0).length === 1, { what: 'started row' });
    a.router.stop(); // the process "dies": its router never answers

    const ran: GateTestArgsT[] = [];
    const link = new FakeReplyLink();
    const b = rig({
      handlers: gateHandlers(ran),
      store: openStore(file, { processToken: 'p2' }),
      link,
    });
    await waitFor(() => link.sent.length === 1, { what: 'interrupted reply' });
    const reply = JSON.parse(link.sent[0]?.payload ?? 'null') as CommandReply;
    expect(reply).toMatchObject({
      id: 'cut',
      ok: false,
      error: { code: 'EDGE_COMMAND_INTERRUPTED' },
    });
    expect(link.sent[0]).toMatchObject({
      topic: RESPONSE_TOPIC,
      correlation: mqtt5(4).correlationData,
    });
    expect(b.audit).toMatchObject([{ payload: { id: 'cut', error: 'EDGE_COMMAND_INTERRUPTED' } }]);
    expect(b.router.lateReplies).toMatchObject({ interrupted: 1, delivered: 1 });
    // a re-send gets the same reply and nothing runs
    expect(await b.send('gate-test', 'cut', GATE)).toEqual(reply);
    expect(ran).toEqual([]);
  });

  it('config-put restart in one process: the new router delivers the reply the old one could not publish', async () => {
    const file = storeFile();
    let finish: (r: Record<string, unknown>) => void = () => undefined;
    let runs = 0;
    const handlers: CommandHandlers = {
      putConfig: () => {
        runs++;
        return new Promise((resolve) => (finish = resolve));
      },
    };
    const oldLink = new FakeReplyLink();
    const oldStore = openStore(file, { processToken: 'same' });
    const old = rig({ handlers, store: oldStore, link: oldLink });
    const running = old.send('config-put', 'cp1', { config: {}, operatorId: 'o1' }, mqtt5(5));
    await waitFor(() => runs === 1, { what: 'handler started' });
    // the handler stops the old gateway (router, uplink, store) and starts a new one
    old.router.stop();
    oldLink.connected = false;
    oldStore.close();
    const link = new FakeReplyLink();
    const next = rig({ handlers, store: openStore(file, { processToken: 'same' }), link });
    expect(next.router.lateReplies?.delivered).toBe(0);
    finish({ applied: true });
    const reply = await running;
    expect(old.router.counters.replyFailures).toBe(1);
    await waitFor(() => link.sent.length === 1, { what: 'late config-put reply' });
    expect(link.sent[0]).toEqual({
      topic: RESPONSE_TOPIC,
      payload: JSON.stringify(reply),
      correlation: mqtt5(5).correlationData,
    });
    await waitFor(() => publishedAt(file, 'cp1') !== null, { what: 'marked published' });
    expect(runs).toBe(1);
  });

  it('opens a file of the first reply store: columns added, its old replies never delivered late', async () => {
    const file = storeFile();
    const db = new Database(file);
    db.exec(`
      CREATE TABLE command_reply (
        id TEXT PRIMARY KEY, command TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('started', 'done')),
        process TEXT NOT NULL, reply TEXT, created_ms INTEGER NOT NULL, finished_ms INTEGER);
      CREATE INDEX command_reply_created ON command_reply (created_ms);
    `);
    const oldReply: CommandReply = {
      schema: 1,
      id: 'v0',
      command: 'gate-test',
      ok: true,
      result: { fired: 'pass-gate' },
      time: new Date().toISOString(),
    };
    db.prepare(`INSERT INTO command_reply VALUES ('v0', 'gate-test', 'done', 'old', ?, ?, ?)`).run(
      JSON.stringify(oldReply),
      Date.now(),
      Date.now(),
    );
    db.prepare(
      `INSERT INTO command_reply (id, command, state, process, created_ms)
       VALUES ('v0-cut', 'gate-test', 'started', 'old', ?)`,
    ).run(Date.now());
    db.close();

    const link = new FakeReplyLink();
    const ran: GateTestArgsT[] = [];
    const store = openStore(file);
    const a = rig({ handlers: gateHandlers(ran), store, link });
    expect(store.get('v0')).toEqual({
      state: 'done',
      command: 'gate-test',
      argsHash: null,
      reply: oldReply,
    });
    // a new command works with the new columns and is published live
    await a.send('gate-test', 'v1', GATE, mqtt5(6));
    await waitFor(() => publishedAt(file, 'v1') !== null, { what: 'v1 published' });
    expect(link.sent.map((s) => (JSON.parse(s.payload) as CommandReply).id)).toEqual(['v1']);
    expect(a.router.lateReplies).toMatchObject({ delivered: 0, interrupted: 0, stale: 0 });
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    check.close();
    // the old cut row is still answered on a re-send
    expect(await a.send('gate-test', 'v0-cut', GATE)).toMatchObject({
      error: { code: 'EDGE_COMMAND_INTERRUPTED' },
    });
    expect(ran).toHaveLength(1);
  });
});
