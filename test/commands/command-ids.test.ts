import { describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { canonicalJson } from '../../edge/commands/command-ids.js';
import { CommandRouter, type CommandTransport } from '../../edge/commands/router.js';
import type { TargetingReplaceArgsT } from '../../edge/commands/schemas.js';
import { silentLogger } from '../../edge/log.js';
import { Topics } from '../../edge/uplink/topics.js';
import { payloadFor, testCommandKeys } from '../support/command-signing.js';
import { uplinkConfig } from '../uplink/helpers.js';

/** The reply cache must not answer a different command that reuses an id. */
function rig(getConfig: () => unknown = () => ({})) {
  const topics = new Topics('customs', 'site-a', 'gw-ids');
  const published: string[] = [];
  const transport: CommandTransport = {
    topics,
    onMessage: () => undefined,
    publishReply: (_topic, payload) => {
      published.push(payload);
      return Promise.resolve();
    },
    replay: () => true,
  };
  const applied: TargetingReplaceArgsT[] = [];
  const config = uplinkConfig({
    url: 'mqtt://127.0.0.1:1',
    commands: { signing: { keys: testCommandKeys() } },
  });
  const router = new CommandRouter({
    transport,
    settings: config.commands,
    handlers: {
      replaceTargeting: (args) => {
        applied.push(args);
        return Promise.resolve({ entries: args.entries.length });
      },
    },
    getConfig,
    lastSeq: () => 0,
    record: () => undefined,
    info: () => ({ gatewayId: 'gw-ids' }),
    clock: systemClock,
    log: silentLogger(),
  });
  const send = (name: string, id: string, args?: Record<string, unknown>) =>
    router.handle({
      topic: topics.command(name),
      payload: Buffer.from(
        payloadFor(name, { schema: 1, id, ...(args ? { args } : {}) }, 'site-a/gw-ids'),
      ),
    });
  return { router, send, applied, published };
}

describe('command ids', () => {
  it('refuses a command that reuses the id of a different earlier command', async () => {
    const { send, applied, router } = rig();
    const ping = await send('ping', 'cmd-1');
    expect(ping).toMatchObject({ ok: true });
    const replace = await send('targeting-replace', 'cmd-1', {
      listVersion: 'v2',
      entries: [],
    });
    expect(replace).toMatchObject({ ok: false, error: { code: 'EDGE_COMMAND_INVALID' } });
    expect(replace?.error?.message).toMatch(/already used for 'ping'.*unique/);
    expect(applied).toEqual([]);
    expect(router.counters.duplicates).toBe(0);
  });

  it('still answers a re-sent identical command from the cache, running it once', async () => {
    const { send, applied, router } = rig();
    const args = { listVersion: 'v3', entries: [] };
    const first = await send('targeting-replace', 'cmd-2', args);
    const again = await send('targeting-replace', 'cmd-2', args);
    expect(first).toMatchObject({ ok: true });
    expect(again).toEqual(first);
    expect(applied).toHaveLength(1);
    expect(router.counters.duplicates).toBe(1);
  });

  it('refuses an id re-sent with different arguments: the new list is never answered with the old ok', async () => {
    const { send, applied, router } = rig();
    const v1 = { listVersion: 'v1', entries: [{ ruleId: 'r1', waybill: 'WB1' }] };
    const first = await send('targeting-replace', 'tr-1', v1);
    expect(first).toMatchObject({ ok: true });
    // a platform bug: list v2 sent under v1's id
    const v2 = await send('targeting-replace', 'tr-1', { ...v1, listVersion: 'v2' });
    expect(v2).toMatchObject({ id: 'tr-1', ok: false, error: { code: 'EDGE_COMMAND_INVALID' } });
    expect(v2?.error?.message).toBe(
      "command id 'tr-1' was already used with different arguments; ids must be unique",
    );
    // the same arguments with the keys in another order are the same request
    const reordered = await send('targeting-replace', 'tr-1', {
      entries: [{ waybill: 'WB1', ruleId: 'r1' }],
      listVersion: 'v1',
    });
    expect(reordered).toEqual(first);
    expect(applied).toEqual([v1]);
    expect(router.counters.duplicates).toBe(1);
    // a ping re-sent with another echo is refused too (every cached id)
    await send('ping', 'p-1', { echo: 'a' });
    expect(await send('ping', 'p-1', { echo: 'b' })).toMatchObject({
      error: { code: 'EDGE_COMMAND_INVALID' },
    });
  });

  it('canonical JSON sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":0,"z":1}]},"b":1}',
    );
  });

  it('config-get hides passwords inside URLs and TLS secrets', async () => {
    const { send } = rig(() => ({
      uplink: {
        url: 'mqtts://gw:url-pass-123@broker.example:8883',
        tls: { key: '/etc/customs-edge/key.pem', passphrase: 'pp-123' },
      },
    }));
    const reply = await send('config-get', 'cmd-3');
    const text = JSON.stringify(reply);
    expect(text).not.toContain('url-pass-123');
    expect(text).not.toContain('pp-123');
    expect(reply?.result).toMatchObject({
      config: { uplink: { url: 'mqtts://gw:redacted@broker.example:8883' } },
    });
  });
});
