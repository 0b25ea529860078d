import { describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/clock.js';
import { CommandRouter, type CommandTransport } from '../../edge/commands/router.js';
import type { TargetingReplaceArgsT } from '../../edge/commands/schemas.js';
import { silentLogger } from '../../edge/log.js';
import { Topics } from '../../edge/uplink/topics.js';
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
  const config = uplinkConfig({ url: 'mqtt://127.0.0.1:1' });
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
      payload: Buffer.from(JSON.stringify({ schema: 1, id, ...(args ? { args } : {}) })),
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
